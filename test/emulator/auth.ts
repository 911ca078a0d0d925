/**
 * auth.py + mfa.py of Mail-in-a-Box v75: HTTP Basic parsing, the system API key, session
 * keys and password(+TOTP) logins, checked in the daemon's order. Failures carry the exact
 * message the daemon puts in X-Reason or in the /login body.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { SessionTable } from './sessions.js';
import { verifyTotp } from './totp.js';
import { pyStrip } from './python.js';
import type { AuthKind, EmulatorUser, UserPatch } from './types.js';

/** A rejected authentication; `message` is the daemon's reason text. */
export class AuthFailure extends Error {}

export const AUTH_REALM = 'Mail-in-a-Box Management Server';
export const WRONG_PASSWORD = 'Incorrect email address or password.';
export const HEADER_INVALID = 'Authorization header invalid.';

export interface AuthSuccess {
  readonly kind: 'system' | 'session' | 'password';
  /** null for the system key, which belongs to no user. */
  readonly email: string | null;
  readonly privileges: readonly string[];
}

export interface AuthRequest {
  readonly authorization: string | undefined;
  readonly xAuthToken: string | undefined;
}

interface UserState {
  password: string;
  privileges: readonly string[];
  totpSecret: string | null;
  /** mfa.mru_token: the last code accepted, refused next time (replay protection). */
  mruToken: string | null;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * `base64.b64decode(s).decode('ascii')` with Python's error messages. Follows CPython's
 * non-strict a2b_base64: characters outside the alphabet are skipped, enough '=' after the
 * data ends decoding, and a dangling partial quad is an error.
 */
function decodeCredentials(encoded: string): string {
  const kept: string[] = [];
  let quadPos = 0;
  let pads = 0;
  let complete = false;
  for (const char of encoded) {
    if (char === '=') {
      pads++;
      if (quadPos >= 2 && quadPos + pads >= 4) {
        complete = true;
        break;
      }
      continue;
    }
    if (!BASE64_ALPHABET.includes(char)) continue;
    kept.push(char);
    quadPos = (quadPos + 1) % 4;
    pads = 0;
  }
  if (!complete && quadPos === 1) {
    throw new AuthFailure(
      `Invalid base64-encoded string: number of data characters (${kept.length}) cannot be 1 more than a multiple of 4`,
    );
  }
  if (!complete && quadPos !== 0) throw new AuthFailure('Incorrect padding');
  const bytes = Buffer.from(kept.join(''), 'base64');
  const bad = bytes.findIndex((b) => b >= 0x80);
  if (bad >= 0) {
    const hex = (bytes[bad] ?? 0).toString(16).padStart(2, '0');
    throw new AuthFailure(`'ascii' codec can't decode byte 0x${hex} in position ${bad}: ordinal not in range(128)`);
  }
  return bytes.toString('latin1');
}

/** auth.py parse_http_authorization_basic: null where Python returns (None, None). */
export function parseBasicAuthorization(header: string): { username: string; password: string } | null {
  if (!header.includes(' ')) return null;
  // Python's str.split(maxsplit=1): split on whitespace runs, leading whitespace ignored.
  const match = /^\s*(\S+)\s+(.*)$/s.exec(header);
  if (!match) {
    const parts = header.split(/\s+/).filter(Boolean).length;
    throw new AuthFailure(`not enough values to unpack (expected 2, got ${parts})`);
  }
  const [, scheme = '', rest = ''] = match;
  if (scheme !== 'Basic') return null;
  const credentials = decodeCredentials(rest);
  const colon = credentials.indexOf(':');
  if (colon < 0) return null;
  return { username: credentials.slice(0, colon), password: credentials.slice(colon + 1) };
}

export class AuthService {
  private key = '';
  private readonly users = new Map<string, UserState>();
  private readonly sessions: SessionTable;

  constructor(
    users: readonly EmulatorUser[],
    private readonly now: () => number,
    private readonly keyFile: string | undefined,
    private readonly keyTrailingNewline: boolean,
  ) {
    for (const user of users) {
      this.users.set(user.email, {
        password: user.password,
        privileges: [...(user.privileges ?? ['admin'])],
        totpSecret: user.totpSecret ?? null,
        mruToken: null,
      });
    }
    this.sessions = new SessionTable(now);
  }

  get systemKey(): string {
    return this.key;
  }

  get liveSessions(): number {
    return this.sessions.liveCount();
  }

  /** Daemon start: a fresh system key (32 hex, as v60+ writes it) and an empty session table. */
  async start(): Promise<void> {
    this.sessions.clear();
    this.key = randomBytes(16).toString('hex');
    if (this.keyFile) {
      await writeFile(this.keyFile, this.key + (this.keyTrailingNewline ? '\n' : ''), { mode: 0o600 });
      // writeFile's mode applies only when it creates the file.
      await chmod(this.keyFile, 0o600);
    }
  }

  updateUser(email: string, patch: UserPatch): void {
    const user = this.users.get(email);
    if (!user) throw new Error(`no such emulator user: ${email}`);
    if (patch.password !== undefined) user.password = patch.password;
    if (patch.privileges !== undefined) user.privileges = [...patch.privileges];
    if (patch.totpSecret !== undefined) {
      user.totpSecret = patch.totpSecret;
      user.mruToken = null;
    }
  }

  /**
   * auth.py AuthService.authenticate. `loginOnly` (POST /login) skips the system key and
   * sessions; `logout` deletes the session it authenticated with.
   */
  authenticate(request: AuthRequest, mode: { loginOnly?: boolean; logout?: boolean } = {}): AuthSuccess {
    const parsed = parseBasicAuthorization(request.authorization ?? '');
    if (parsed === null || parsed.username === '') throw new AuthFailure(HEADER_INVALID);
    const { username, password } = parsed;
    if (pyStrip(username) === '' && pyStrip(password) === '') {
      throw new AuthFailure('No email address, password, session key, or API key provided.');
    }

    if (username === this.key && !mode.loginOnly) return { kind: 'system', email: null, privileges: ['admin'] };

    let kind: AuthSuccess['kind'];
    const session = mode.loginOnly ? undefined : this.getSession(username, password);
    if (session) {
      kind = 'session';
      if (mode.logout) this.sessions.delete(password);
      else this.sessions.set(password, session); // re-up: expiry slides from this use
    } else if (pyStrip(password) === '') {
      throw new AuthFailure('Enter a password.');
    } else {
      // A stale session key ends up here and fails like a wrong password.
      this.checkUserAuth(username, password, request.xAuthToken);
      kind = 'password';
    }
    const user = this.users.get(username);
    if (!user) throw new AuthFailure(`That's not a user (${username}).`);
    return { kind, email: username, privileges: [...user.privileges] };
  }

  /** auth.py create_session_key: 64 hex, bound to the user's current password/MFA state. */
  createSession(email: string): string {
    const token = randomBytes(32).toString('hex');
    this.sessions.set(token, { email, userStamp: this.userStamp(email) });
    return token;
  }

  /**
   * What kind of credentials a header carries, without any side effect (no TOTP use, no
   * session refresh): for log entries of requests that never reached authentication.
   */
  peekKind(authorization: string | undefined): AuthKind {
    if (authorization === undefined) return 'none';
    let parsed: ReturnType<typeof parseBasicAuthorization>;
    try {
      parsed = parseBasicAuthorization(authorization);
    } catch {
      return 'invalid';
    }
    if (parsed === null || parsed.username === '') return 'invalid';
    if (parsed.username === this.key) return 'system';
    if (this.getSessionQuietly(parsed.username, parsed.password)) return 'session';
    return 'password';
  }

  private userStamp(email: string): string {
    const user = this.users.get(email);
    // The real token is an HMAC keyed with the system key, so a restart invalidates it too.
    return createHash('sha256')
      .update(`${this.key}\0${user?.password ?? ''}\0${user?.totpSecret ?? ''}`)
      .digest('hex');
  }

  /** auth.py get_session for type 'login'. */
  private getSession(email: string, key: string): { email: string; userStamp: string } | undefined {
    const session = this.sessions.get(key);
    if (!session || session.email !== email) return undefined;
    if (session.userStamp !== this.userStamp(session.email)) return undefined;
    return session;
  }

  private getSessionQuietly(email: string, key: string): boolean {
    // SessionTable.get only deletes entries that are already expired: harmless here.
    return this.getSession(email, key) !== undefined;
  }

  /** auth.py check_user_auth + mfa.py validate_auth_mfa (TOTP only). */
  private checkUserAuth(email: string, password: string, token: string | undefined): void {
    const user = this.users.get(email);
    if (!user || user.password !== password) throw new AuthFailure(WRONG_PASSWORD);
    if (user.totpSecret === null) return;
    if (!token) throw new AuthFailure('missing-totp-token');
    if (token === user.mruToken) throw new AuthFailure('invalid-totp-token');
    if (!verifyTotp(user.totpSecret, token, this.now())) throw new AuthFailure('invalid-totp-token');
    user.mruToken = token;
  }
}
