/**
 * Session mode: one password (+TOTP) login turned into a session key that every later call,
 * in this process and in later hook processes, reuses from a 0600 cache file. A file lock
 * makes concurrent processes share ONE login. A wrong password is never retried: the box
 * bans an IP after 20 failed logins in 30 s. A login never waits for a TOTP step (totp.ts).
 * A refused login is remembered in the state dir (src/state/refused-logins.ts): no later
 * process sends those credentials again until they change, an hour passes, or `check --login`.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AuthError } from '../../errors.js';
import { registerDerivedSecret } from '../../secrets.js';
import { isRecord, readJsonFile, removeFile, writePrivateFile } from '../../state/files.js';
import { withLock } from '../../state/lock.js';
import { isRememberedRefusal, RefusedLogins, type RefusedLoginKey } from '../../state/refused-logins.js';
import type { Logger } from '../../util/log.js';
import { basicAuthorization, type Authenticator, type LoginEndpoint, type LoginResponse } from './types.js';

export interface SessionCredentials {
  readonly apiUrl: string;
  readonly email: string;
  readonly password: string;
  readonly totpSecret: string | undefined;
}

interface CachedSession {
  readonly apiUrl: string;
  readonly email: string;
  readonly apiKey: string;
  readonly obtainedAt: string;
}

function isCachedSession(value: unknown): value is CachedSession {
  return isRecord(value) && typeof value.apiKey === 'string' && typeof value.email === 'string' && typeof value.apiUrl === 'string';
}

/**
 * Who the box's TOTP replay rule applies to: one user of one box, whatever URL reaches it
 * (`https://box/admin` and `http://127.0.0.1:10222` are the same box). With TOTP, the
 * account is the email plus a hash of the TOTP secret: the secret is random per user and
 * box, so it tells boxes apart where an email alone would not (admin@ on two boxes). The
 * secret itself is never stored, only this one-way digest. Without TOTP there is no code to
 * remember and nothing but the URL tells boxes apart, so the URL takes the secret's place.
 */
export function accountKey(apiUrl: string, email: string, totpSecret: string | undefined): string {
  const box = totpSecret === undefined ? `url\n${apiUrl}` : `totp\n${createHash('sha256').update(`miab-dns01 totp secret\n${totpSecret}`).digest('hex')}`;
  return createHash('sha256').update(`miab-dns01 account\n${email.toLowerCase()}\n${box}`).digest('hex').slice(0, 24);
}

/**
 * Files of one account in the state dir. The session cache is per URL (a key is only ever
 * sent where it came from); the login lock and the spent-code record are per account, so
 * that logins through two URLs of one box take turns and never send one code twice.
 */
export function sessionPaths(stateDir: string, apiUrl: string, email: string, totpSecret?: string): { cache: string; lock: string; totp: string } {
  const id = createHash('sha256').update(`${apiUrl}\n${email.toLowerCase()}`).digest('hex').slice(0, 24);
  const account = accountKey(apiUrl, email, totpSecret);
  return {
    cache: join(stateDir, 'sessions', `${id}.json`),
    lock: join(stateDir, 'locks', `login-${account}.lock`),
    totp: join(stateDir, 'sessions', `${account}.totp.json`),
  };
}

function loginError(response: LoginResponse, credentials: SessionCredentials): AuthError {
  const reason = response.reason ?? response.status;
  if (response.status === 'missing-totp-token' || reason === 'missing-totp-token') {
    return new AuthError('missing-totp-token', `the account ${credentials.email} has two-factor authentication on: set MIAB_TOTP_SECRET (or MIAB_TOTP_SECRET_FILE) to its base32 TOTP secret`);
  }
  if (reason === 'invalid-totp-token') {
    return new AuthError('auth-invalid-totp', 'the box refused the TOTP code twice: check MIAB_TOTP_SECRET and that this machine\'s clock is right (within 30 s). Not retried further, to stay clear of the box\'s ban on repeated failed logins');
  }
  return new AuthError(
    'auth-invalid-credentials',
    `the box refused the login for ${credentials.email}: "${reason}". Check MIAB_EMAIL and MIAB_PASSWORD. Not retried: the box bans an IP after 20 failed logins in 30 s`,
  );
}

/** The box bans an IP after 20 failed logins in 30 s; one process never sends more than this. */
export const MAX_LOGINS_PER_PROCESS = 2;

export interface SessionAuthenticatorOptions {
  readonly credentials: SessionCredentials;
  readonly stateDir: string;
  readonly endpoint: LoginEndpoint;
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /** Clock for the remembered refusals (tests). */
  readonly now?: () => number;
}

export class SessionAuthenticator implements Authenticator {
  readonly mode = 'session' as const;
  readonly #options: SessionAuthenticatorOptions;
  readonly #paths: ReturnType<typeof sessionPaths>;
  readonly #refusals: RefusedLogins;
  readonly #refusalKey: RefusedLoginKey;
  #current: string | undefined;
  #refreshed = false;
  /** The refusal this process met or found remembered: no second login with these credentials. */
  #refused: Error | undefined;
  /** Password logins sent by this process: at most 2 (one, plus one after a forgotten session). */
  loginsSent = 0;

  constructor(options: SessionAuthenticatorOptions) {
    this.#options = options;
    const { apiUrl, email, totpSecret } = options.credentials;
    this.#paths = sessionPaths(options.stateDir, apiUrl, email, totpSecret);
    this.#refusals = new RefusedLogins(options.stateDir, options.now ? { now: options.now } : {});
    this.#refusalKey = { account: `mailinabox\n${accountKey(apiUrl, email, totpSecret)}`, secrets: [options.credentials.password, totpSecret ?? ''] };
  }

  #header(apiKey: string): string {
    registerDerivedSecret(apiKey);
    const header = basicAuthorization(this.#options.credentials.email, apiKey);
    registerDerivedSecret(header.slice('Basic '.length));
    return header;
  }

  async #readCache(): Promise<string | undefined> {
    const cached = await readJsonFile(this.#paths.cache, isCachedSession);
    const { apiUrl, email } = this.#options.credentials;
    return cached && cached.apiUrl === apiUrl && cached.email === email ? this.#header(cached.apiKey) : undefined;
  }

  /**
   * Logs in, with the login lock held. A refusal met earlier, in this process or (remembered in
   * the state dir) in another, fails at once without a request, unless `retryRefused` (the
   * user's explicit `check --login`).
   */
  async #login(retryRefused = false): Promise<string> {
    const { credentials, endpoint, log } = this.#options;
    if (!retryRefused) {
      if (this.#refused !== undefined) throw this.#refused;
      const remembered = await this.#refusals.find(this.#refusalKey);
      if (remembered !== undefined) throw (this.#refused = remembered);
    }
    let response = await this.#sendLogin();
    if (response.reason === 'invalid-totp-token' && credentials.totpSecret !== undefined && this.loginsSent < MAX_LOGINS_PER_PROCESS) {
      // Another client (the web UI, another machine) may have spent this code: the box refuses
      // the one code it accepted last, and takes any other code of its window at once. One
      // more try with another code tells that apart from a wrong secret or clock.
      log.info('the box refused the TOTP code (another client may have just used it); trying once more, at once, with another valid code');
      response = await this.#sendLogin();
    }
    if (response.status !== 'ok' || typeof response.api_key !== 'string') {
      const error = loginError(response, credentials);
      if (isRememberedRefusal(error)) {
        this.#refused = error;
        // Unwritable state: this process still stops; later ones would try once each.
        await this.#refusals.remember(this.#refusalKey, error).catch((cause: unknown) => log.debug(`could not remember the refused login: ${String(cause)}`));
      }
      throw error;
    }
    this.#refused = undefined;
    await this.#refusals.forget(this.#refusalKey).catch(() => undefined);
    const header = this.#header(response.api_key);
    if (!(response.privileges ?? []).includes('admin')) {
      await endpoint.logout(header).catch(() => undefined);
      throw new AuthError('auth-not-admin', `${credentials.email} is not an administrator of the box; the DNS API needs an admin account (set MIAB_EMAIL to one)`);
    }
    const session: CachedSession = { apiUrl: credentials.apiUrl, email: credentials.email, apiKey: response.api_key, obtainedAt: new Date().toISOString() };
    await writePrivateFile(this.#paths.cache, `${JSON.stringify(session)}\n`);
    return header;
  }

  async #sendLogin(): Promise<LoginResponse> {
    const { credentials, endpoint, log } = this.#options;
    if (this.loginsSent >= MAX_LOGINS_PER_PROCESS) {
      throw new AuthError('auth-session-rejected', `already sent ${MAX_LOGINS_PER_PROCESS} logins in this run; stopping so the box does not ban this IP. Run "miab-dns01 check" to diagnose`);
    }
    // otplib is loaded only for a login: with a cached session, hook calls never need it.
    const reservation = credentials.totpSecret ? await (await import('./totp.js')).reserveTotpCode({ secret: credentials.totpSecret, stateFile: this.#paths.totp }) : undefined;
    if (reservation?.skippedSpent) log.info('the current TOTP code was already used (the box refuses it twice); sending the next step\'s code, which the box accepts at once');
    this.loginsSent += 1;
    log.debug(`logging in to ${credentials.apiUrl} as ${credentials.email}${reservation ? ' with a TOTP code' : ''}`);
    try {
      return await endpoint.login(basicAuthorization(credentials.email, credentials.password), reservation?.code);
    } catch (error) {
      // Nothing reached the daemon: no code spent, no failed login on the box's ban count.
      if (endpoint.loginNeverReached?.(error) === true) {
        this.loginsSent -= 1;
        await reservation?.release();
      }
      throw error;
    }
  }

  async authorization(): Promise<string> {
    if (this.#current !== undefined) return this.#current;
    const cached = await this.#readCache();
    if (cached !== undefined) return (this.#current = cached);
    // Under the lock, look again: a concurrent process may have just logged in.
    this.#current = await withLock(this.#paths.lock, async () => (await this.#readCache()) ?? this.#login(), { signal: this.#options.signal });
    return this.#current;
  }

  async refreshAfterRejection(rejected: string): Promise<string | undefined> {
    if (this.#refreshed) return undefined;
    this.#refreshed = true;
    try {
      this.#current = await withLock(
        this.#paths.lock,
        async () => {
          const cached = await this.#readCache();
          // Another process already replaced the forgotten session: use its key, no login.
          if (cached !== undefined && cached !== rejected) return cached;
          await removeFile(this.#paths.cache);
          this.#options.log.info('the box no longer knows the cached session (restarted, or expired); logging in again');
          return this.#login();
        },
        { signal: this.#options.signal },
      );
    } catch (error) {
      if (this.#options.endpoint.loginNeverReached?.(error) === true) {
        // The login never got to the daemon (nginx's 502 while it restarts): the forgotten key
        // is not sent again (each use is a failed login on the box), and a retry of the
        // request logs in afresh.
        this.#current = undefined;
        this.#refreshed = false;
      }
      throw error;
    }
    return this.#current;
  }

  /** Ends the cached session on the box and forgets it here. Returns false when there was none. */
  async logout(): Promise<boolean> {
    return withLock(this.#paths.lock, async () => {
      const cached = await this.#readCache();
      if (cached === undefined) return false;
      await this.#options.endpoint.logout(cached);
      await removeFile(this.#paths.cache);
      this.#current = undefined;
      return true;
    });
  }

  /**
   * `check --login`: one password (+TOTP) login now, even with a cached session or a remembered
   * refusal (the user asks for exactly this one). A refusal is remembered as any other; on
   * success the new session replaces the cached one, which is ended on the box.
   */
  async verifyLogin(): Promise<void> {
    const previous = await withLock(
      this.#paths.lock,
      async () => {
        const cached = await this.#readCache();
        this.#current = await this.#login(true);
        return cached;
      },
      { signal: this.#options.signal },
    );
    if (previous !== undefined && previous !== this.#current) await this.#options.endpoint.logout(previous).catch(() => undefined);
  }

  /** True when a cached session exists (used by `check`, which must not log in needlessly). */
  async hasCachedSession(): Promise<boolean> {
    return (await this.#readCache()) !== undefined;
  }
}
