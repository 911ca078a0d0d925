/**
 * Logins a server refused, remembered across processes. Every hook call is its own process:
 * without this, each of 20 `present` calls sends the wrong password again, and the box's
 * fail2ban bans the client's address (20 failed logins in 30 s; cPanel's cPHulk locks the
 * account). A refusal is kept in the state dir under the account and a digest of the
 * credentials it was for, so every later process of any client fails at once, with the same
 * error and WITHOUT a request, until the credentials change, the refusal is an hour old, or
 * the user asks for one login now (`miab-dns01 check --login`).
 *
 * The credentials are never stored: only a salted scrypt digest of them, in a 0600 file, so a
 * copy of the state dir does not offer a fast guess at a short password.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AuthError, type ErrorCode } from '../errors.js';
import { hashSecret, verifySecret } from '../util/secret-hash.js';
import { isRecord, readJsonFile, removeFile, writePrivateFile } from './files.js';

/** How long a refusal is remembered when nothing changes: after that, one login is tried again. */
export const REFUSAL_MEMORY_MS = 60 * 60 * 1000;

/** The refusals worth remembering: each is a failed login on the server's ban count. */
export type RefusalCode = Extract<ErrorCode, 'auth-invalid-credentials' | 'auth-invalid-totp' | 'missing-totp-token'>;

const REMEMBERED: ReadonlySet<string> = new Set<RefusalCode>(['auth-invalid-credentials', 'auth-invalid-totp', 'missing-totp-token']);

/** True when `error` is a refusal to remember (a wrong password, TOTP secret, or a missing one). */
export function isRememberedRefusal(error: unknown): error is AuthError & { code: RefusalCode } {
  return error instanceof AuthError && REMEMBERED.has(error.code);
}

export interface RefusedLoginKey {
  /** Which server and account, e.g. `mailinabox\n<api url>\n<email>`: only its hash names the file. */
  readonly account: string;
  /** The secrets the login carried (password, TOTP secret): only a salted digest is stored. */
  readonly secrets: readonly string[];
}

interface RefusalRecord {
  readonly code: RefusalCode;
  readonly message: string;
  readonly refusedAt: string;
  /** The salted scrypt hash of the credentials (util/secret-hash.ts). */
  readonly hash: string;
}

function isRefusalRecord(value: unknown): value is RefusalRecord {
  return (
    isRecord(value) &&
    typeof value.code === 'string' &&
    REMEMBERED.has(value.code) &&
    typeof value.message === 'string' &&
    typeof value.refusedAt === 'string' &&
    typeof value.hash === 'string'
  );
}

/** The credentials as one string for hashing; length-prefixed: ("ab", "c") and ("a", "bc") differ. */
function credentialsOf(secrets: readonly string[]): string {
  return secrets.map((secret) => `${Buffer.byteLength(secret)}:${secret}`).join('\n');
}

export interface RefusedLoginsOptions {
  readonly now?: () => number;
  /** @default REFUSAL_MEMORY_MS */
  readonly memoryMs?: number;
}

/** The remembered refusals of one state dir. */
export class RefusedLogins {
  readonly #dir: string;
  readonly #now: () => number;
  readonly #memoryMs: number;

  constructor(stateDir: string, options: RefusedLoginsOptions = {}) {
    this.#dir = join(stateDir, 'refused-logins');
    this.#now = options.now ?? Date.now;
    this.#memoryMs = options.memoryMs ?? REFUSAL_MEMORY_MS;
  }

  #path(key: RefusedLoginKey): string {
    return join(this.#dir, `${createHash('sha256').update(`miab-dns01 refused login\n${key.account}`).digest('hex').slice(0, 24)}.json`);
  }

  /**
   * The error to fail with, without a request, when these very credentials were refused less
   * than an hour ago; undefined otherwise (no file costs one failed open, no hashing).
   */
  async find(key: RefusedLoginKey): Promise<AuthError | undefined> {
    const record = await readJsonFile(this.#path(key), isRefusalRecord);
    if (record === undefined) return undefined;
    const refusedAt = Date.parse(record.refusedAt);
    const ageMs = this.#now() - refusedAt;
    if (!Number.isFinite(refusedAt) || ageMs < 0 || ageMs >= this.#memoryMs) return undefined;
    // Other credentials now (the user fixed them): this refusal says nothing about them.
    if (!(await verifySecret(credentialsOf(key.secrets), record.hash))) return undefined;
    const minutesLeft = Math.max(1, Math.ceil((this.#memoryMs - ageMs) / 60_000));
    return new AuthError(
      record.code,
      `${record.message} [remembered from ${record.refusedAt}: no login was sent now. Fix the credentials (the refusal is then forgotten), or run "miab-dns01 check --login" to try one login now; otherwise one login is tried again in ${minutesLeft} min]`,
    );
  }

  /** Remembers that the server refused these credentials with `error`. */
  async remember(key: RefusedLoginKey, error: AuthError & { code: RefusalCode }): Promise<void> {
    const record: RefusalRecord = {
      code: error.code,
      message: error.message,
      refusedAt: new Date(this.#now()).toISOString(),
      hash: await hashSecret(credentialsOf(key.secrets)),
    };
    await writePrivateFile(this.#path(key), `${JSON.stringify(record)}\n`);
  }

  /** Forgets the account's refusal (a login with its credentials just worked). */
  async forget(key: RefusedLoginKey): Promise<void> {
    await removeFile(this.#path(key));
  }
}
