/**
 * A small UAPI client: builds `/execute/<Module>/<function>?...` (inside a session under
 * `/cpsessNNNNNNNNNN`), authenticates by one of the three methods, and turns every answer into
 * data or a typed error. A refusal (401, 403, an HTML login page, the `tfa_login_form` marker) is
 * never taken for success; a UAPI failure is HTTP 200 with `status: 0` (cpanel-api.md).
 * In the password modes a refused password or code is remembered in the state dir
 * (src/state/refused-logins.ts): no later process sends it again, so cPHulk never sees a series.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AuthError, BoxApiError } from '../../errors.js';
import { registerDerivedSecret } from '../../secrets.js';
import { isRecord, readJsonFile, removeFile, writePrivateFile } from '../../state/files.js';
import { withLock } from '../../state/lock.js';
import { isRememberedRefusal, RefusedLogins, type RefusedLoginKey } from '../../state/refused-logins.js';
import type { Logger } from '../../util/log.js';
import { DEFAULT_RETRY_POLICY, withRetries, type RetryPolicy } from '../http/retry.js';
import type { CpanelAuth, CpanelConfig } from './config.js';
import type { CpanelTransport, HttpAnswer } from './transport.js';
import { nextOtp } from './totp.js';

/** A UAPI call answered `status: 0`; `errors` holds the server's texts. */
export class UapiCallError extends BoxApiError {
  readonly uapiErrors: readonly string[];
  constructor(message: string, uapiErrors: readonly string[]) {
    super('box-rejected', message, { status: 200, body: uapiErrors.join('\n').slice(0, 500) });
    this.uapiErrors = uapiErrors;
  }
}

/**
 * cPanel's brute-force protection (cPHulk) locks accounts after repeated failed logins: without
 * a call that worked in between, a process sends at most one login, one more with the next code
 * after a refused code, and one after the server forgot the session.
 */
export const MAX_LOGINS_IN_A_ROW = 3;

interface CachedSession {
  readonly baseUrl: string;
  readonly username: string;
  readonly securityToken: string;
  readonly cookie: string;
  readonly obtainedAt: string;
}

function isCachedSession(value: unknown): value is CachedSession {
  return (
    isRecord(value) &&
    typeof value.baseUrl === 'string' &&
    typeof value.username === 'string' &&
    typeof value.securityToken === 'string' &&
    typeof value.cookie === 'string'
  );
}

/** Files of one (server, account) pair in the state dir. */
export function cpanelStatePaths(stateDir: string, baseUrl: string, username: string): { session: string; loginLock: string; otp: string; otpLock: string; zoneLock: (zone: string) => string } {
  const id = createHash('sha256').update(`cpanel\n${baseUrl}\n${username}`).digest('hex').slice(0, 24);
  return {
    session: join(stateDir, 'sessions', `cpanel-${id}.json`),
    loginLock: join(stateDir, 'locks', `cpanel-login-${id}.lock`),
    otp: join(stateDir, 'sessions', `cpanel-${id}.totp.json`),
    otpLock: join(stateDir, 'locks', `cpanel-otp-${id}.lock`),
    zoneLock: (zone) => join(stateDir, 'locks', `cpanel-zone-${id}-${createHash('sha256').update(zone).digest('hex').slice(0, 16)}.lock`),
  };
}

type Refusal = 'tfa' | 'login-page' | 'denied';

/** Why an answer is an authentication refusal, or undefined when it is not one. */
function refusalOf(answer: HttpAnswer): Refusal | undefined {
  if (answer.text.includes('tfa_login_form')) return 'tfa';
  if (answer.status === 401 || answer.status === 403) return 'denied';
  const type = String(answer.headers['content-type'] ?? '');
  const looksJson = /json/i.test(type) || /^\s*[{[]/.test(answer.text);
  // A 2xx that is not JSON is the login page served in place of the API answer.
  if (answer.status >= 200 && answer.status < 300 && !looksJson) return 'login-page';
  return undefined;
}

function snippet(text: string): string {
  return text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 120);
}

export interface UapiClientOptions {
  readonly config: CpanelConfig;
  readonly transport: CpanelTransport;
  readonly stateDir: string;
  readonly log: Logger;
  readonly signal?: AbortSignal;
  readonly now?: () => number;
  /** Retries of transient faults (502/503/504, reset, timeout); never of a login. @default DEFAULT_RETRY_POLICY */
  readonly retry?: Partial<RetryPolicy>;
}

const TRANSIENT_STATUS = new Set([502, 503, 504]);

/**
 * Errors met while a login was being sent: never retried (a lost answer to a wrong password
 * would be a second failed login on cPHulk's count).
 */
const duringLogin = new WeakSet<object>();

function isTransient(error: unknown): boolean {
  if (!(error instanceof BoxApiError) || duringLogin.has(error)) return false;
  if (error.code === 'box-unreachable' || error.code === 'box-timeout') return true;
  return error.code === 'box-http' && error.status !== undefined && TRANSIENT_STATUS.has(error.status);
}

export class UapiClient {
  readonly #options: UapiClientOptions;
  readonly #auth: CpanelAuth;
  readonly paths: ReturnType<typeof cpanelStatePaths>;
  #session: CachedSession | undefined;
  /** Logins sent since the last call a session worked for: bounded, so a broken server cannot make us loop. */
  #loginsInARow = 0;
  /** Logins this process sent (session mode). */
  loginsSent = 0;
  readonly #refusals: RefusedLogins;
  readonly #refusalKey: RefusedLoginKey | undefined;
  /** The refusal this process met or found remembered: these credentials are not sent again. */
  #refused: AuthError | undefined;
  /** `check --login`: the next password request is sent despite a remembered refusal. */
  #retryRefused = false;
  #refusalForgotten = false;

  constructor(options: UapiClientOptions) {
    this.#options = options;
    this.#auth = options.config.auth;
    this.paths = cpanelStatePaths(options.stateDir, options.config.baseUrl, options.config.auth.username);
    if (this.#auth.method === 'token') registerDerivedSecret(`${this.#auth.username}:${this.#auth.token}`);
    else registerDerivedSecret(this.#basic());
    this.#refusals = new RefusedLogins(options.stateDir, options.now ? { now: options.now } : {});
    this.#refusalKey =
      this.#auth.method === 'token'
        ? undefined
        : { account: `cpanel\n${options.config.baseUrl}\n${this.#auth.username}`, secrets: [this.#auth.password, this.#auth.totpSecret ?? ''] };
  }

  /** Fails at once, without a request, when these credentials were refused (here or remembered). */
  async #refuseKnownRefusal(): Promise<void> {
    if (this.#refused !== undefined) throw this.#refused;
    if (this.#refusalKey === undefined || this.#retryRefused) return;
    const remembered = await this.#refusals.find(this.#refusalKey);
    if (remembered !== undefined) throw (this.#refused = remembered);
  }

  /** Remembers a refusal of the password or code for every later process; returns it to throw. */
  async #refusal(error: AuthError): Promise<AuthError> {
    this.#retryRefused = false;
    if (!isRememberedRefusal(error) || this.#refusalKey === undefined) return error;
    this.#refused = error;
    // Unwritable state: this process still stops; later ones would try once each.
    await this.#refusals.remember(this.#refusalKey, error).catch((cause: unknown) => this.#options.log.debug(`cpanel: could not remember the refused login: ${String(cause)}`));
    return error;
  }

  /** The server accepted the credentials: a remembered refusal of them is stale. */
  async #accepted(): Promise<void> {
    this.#retryRefused = false;
    if (this.#refusalForgotten || this.#refusalKey === undefined) return;
    this.#refusalForgotten = true;
    await this.#refusals.forget(this.#refusalKey).catch(() => undefined);
  }

  get account(): string {
    return this.#auth.username;
  }

  #basic(): string {
    if (this.#auth.method === 'token') throw new Error('no password in token mode');
    return Buffer.from(`${this.#auth.username}:${this.#auth.password}`, 'utf8').toString('base64');
  }

  #url(prefix: string, module: string, func: string, params: readonly (readonly [string, string])[]): string {
    // Every value URL-encoded: `+`, `%`, `&` appear in JSON and TXT values.
    const query = params.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
    return `${this.#options.config.baseUrl}${prefix}/execute/${module}/${func}${query === '' ? '' : `?${query}`}`;
  }

  /**
   * Calls `Module::function` and returns its `data`; `action` names the step for messages.
   * Transient faults are retried: every call is a read or a write guarded by the zone's serial,
   * so a write that landed before its answer was lost fails the retry harmlessly (stale serial).
   */
  async call(action: string, module: string, func: string, params: readonly (readonly [string, string])[] = []): Promise<unknown> {
    this.#options.signal?.throwIfAborted();
    return withRetries(async () => this.#data(action, module, func, await this.#send(action, module, func, params)), {
      policy: { ...DEFAULT_RETRY_POLICY, ...this.#options.retry },
      isTransient,
      what: `cpanel: ${action}: ${module}::${func}`,
      log: this.#options.log,
      signal: this.#options.signal,
    });
  }

  async #send(action: string, module: string, func: string, params: readonly (readonly [string, string])[]): Promise<HttpAnswer> {
    const { transport } = this.#options;
    const auth = this.#auth;
    if (auth.method === 'token') {
      const answer = await transport.send(action, 'GET', this.#url('', module, func, params), { Authorization: `cpanel ${auth.username}:${auth.token}` }, undefined, this.#options.signal);
      const refusal = refusalOf(answer);
      if (refusal !== undefined) {
        throw new AuthError(
          'auth-invalid-credentials',
          `cpanel: ${action}: the server refused the API token of ${auth.username} (HTTP ${answer.status}${answer.text ? `: ${snippet(answer.text)}` : ''}): the token may be expired or revoked, or lack the Zone Editor feature; create a token with the Zone Editor feature in cPanel » Security » Manage API Tokens and set CPANEL_TOKEN`,
        );
      }
      return answer;
    }
    if (auth.method === 'otp-header') return this.#sendWithOtp(action, module, func, params);
    return this.#sendInSession(action, module, func, params);
  }

  async #sendWithOtp(action: string, module: string, func: string, params: readonly (readonly [string, string])[]): Promise<HttpAnswer> {
    if (this.#auth.method === 'token') throw new Error('unreachable');
    const { totpSecret, username } = this.#auth;
    await this.#refuseKnownRefusal();
    const url = this.#url('', module, func, params);
    const headers = { Authorization: `Basic ${this.#basic()}` };
    const attempt = async (): Promise<HttpAnswer> => {
      if (totpSecret === undefined) return this.#options.transport.send(action, 'GET', url, headers, undefined, this.#options.signal);
      // Held until the answer: codes reach the server in the order they were picked.
      return withLock(
        this.paths.otpLock,
        async () => this.#options.transport.send(action, 'GET', url, { ...headers, 'X-CPANEL-OTP': await nextOtp(totpSecret, this.paths.otp, this.#options.now) }, undefined, this.#options.signal),
        { signal: this.#options.signal },
      );
    };
    let answer = await attempt();
    let refusal = refusalOf(answer);
    if (refusal === 'tfa' && totpSecret !== undefined) {
      // Another client (the web UI, another machine) may have spent this code: one more try with
      // a different code tells that apart from a wrong secret.
      this.#options.log.info('cpanel: the server refused the one-time code; another client may have used it, trying once more with the next code');
      answer = await attempt();
      refusal = refusalOf(answer);
    }
    if (refusal === 'tfa') {
      throw await this.#refusal(
        totpSecret === undefined
          ? new AuthError(
              'missing-totp-token',
              `cpanel: ${action}: the server demands a two-factor code for API requests (WHM security policy "API requests"): set CPANEL_TOTP_SECRET to the account's base32 TOTP secret, or use an API token (CPANEL_AUTH=token), which never needs a code`,
            )
          : new AuthError('auth-invalid-totp', `cpanel: ${action}: the server refused the two-factor code twice: check CPANEL_TOTP_SECRET and that this machine's clock is right (within 30 s)`),
      );
    }
    if (refusal !== undefined) {
      throw await this.#refusal(
        new AuthError(
          'auth-invalid-credentials',
          `cpanel: ${action}: the server refused the password of ${username} (HTTP ${answer.status}): check CPANEL_USERNAME and CPANEL_PASSWORD. Not sent again, so cPHulk does not lock the account`,
        ),
      );
    }
    await this.#accepted();
    return answer;
  }

  async #sendInSession(action: string, module: string, func: string, params: readonly (readonly [string, string])[]): Promise<HttpAnswer> {
    const session = await this.#currentSession(action);
    const send = (current: CachedSession): Promise<HttpAnswer> =>
      this.#options.transport.send(action, 'GET', this.#url(current.securityToken, module, func, params), { Cookie: `cpsession=${current.cookie}` }, undefined, this.#options.signal);
    const answer = await send(session);
    if (refusalOf(answer) === undefined) {
      this.#loginsInARow = 0;
      return answer;
    }
    // The server forgot the session (expiry is server-configured): log in again, once per call.
    const fresh = await withLock(
      this.paths.loginLock,
      async () => {
        const cached = await this.#readCache();
        // Another hook process already replaced the forgotten session: use it, no login.
        if (cached !== undefined && cached.cookie !== session.cookie) return cached;
        await removeFile(this.paths.session);
        this.#options.log.info('cpanel: the server no longer knows the cached session (expired); logging in again');
        return this.#login(action);
      },
      { signal: this.#options.signal },
    );
    this.#session = fresh;
    const retried = await send(fresh);
    if (refusalOf(retried) === undefined) {
      this.#loginsInARow = 0;
      return retried;
    }
    await removeFile(this.paths.session);
    this.#session = undefined;
    throw new AuthError(
      'auth-session-rejected',
      `cpanel: ${action}: the server refused the session again after one fresh login (HTTP ${answer.status}); not logging in once more. Check that sessions are not expiring at once (WHM » Tweak Settings) and run "miab-dns01 check"`,
    );
  }

  async #readCache(): Promise<CachedSession | undefined> {
    const cached = await readJsonFile(this.paths.session, isCachedSession);
    if (cached === undefined || cached.baseUrl !== this.#options.config.baseUrl || cached.username !== this.#auth.username) return undefined;
    registerDerivedSecret(cached.cookie);
    registerDerivedSecret(cached.securityToken);
    return cached;
  }

  async #currentSession(action: string): Promise<CachedSession> {
    if (this.#session !== undefined) return this.#session;
    const cached = await this.#readCache();
    if (cached !== undefined) return (this.#session = cached);
    // Under the lock, look again: a concurrent hook process may have just logged in.
    this.#session = await withLock(this.paths.loginLock, async () => (await this.#readCache()) ?? this.#login(action), { signal: this.#options.signal });
    return this.#session;
  }

  /**
   * `check --login`: the password (and code) are sent now, despite a cached session or a
   * remembered refusal. Session mode logs in at once (the new session replaces the cached one,
   * which is ended); the OTP-header mode sends them with its next request, as every request does.
   */
  async verifyLogin(action: string): Promise<void> {
    if (this.#auth.method === 'token') return;
    this.#retryRefused = true;
    if (this.#auth.method !== 'session') return;
    const previous = await withLock(
      this.paths.loginLock,
      async () => {
        const cached = await this.#readCache();
        this.#session = await this.#login(action);
        return cached;
      },
      { signal: this.#options.signal },
    );
    if (previous !== undefined && previous.cookie !== this.#session?.cookie) {
      await this.#options.transport.send('logout', 'GET', `${this.#options.config.baseUrl}${previous.securityToken}/logout/`, { Cookie: `cpsession=${previous.cookie}` }).catch(() => undefined);
    }
  }

  /** True when a cached session exists (a check need not log in for it). */
  async hasCachedSession(): Promise<boolean> {
    return (await this.#readCache()) !== undefined;
  }

  /** `POST /login/?login_only=1`; called with the login lock held. */
  async #login(action: string): Promise<CachedSession> {
    if (this.#auth.method === 'token') throw new Error('unreachable');
    const { username, password, totpSecret } = this.#auth;
    await this.#refuseKnownRefusal();
    const attempt = async (): Promise<HttpAnswer> => {
      if (this.#loginsInARow >= MAX_LOGINS_IN_A_ROW) {
        throw new AuthError('auth-session-rejected', `cpanel: ${action}: already sent ${MAX_LOGINS_IN_A_ROW} logins without a working session; stopping so cPHulk does not lock the account`);
      }
      this.#loginsInARow += 1;
      this.loginsSent += 1;
      const form = new URLSearchParams({ user: username, pass: password });
      if (totpSecret !== undefined) {
        const code = await withLock(this.paths.otpLock, () => nextOtp(totpSecret, this.paths.otp, this.#options.now), { signal: this.#options.signal });
        form.set('tfa_token', code);
      }
      this.#options.log.debug(`cpanel: logging in as ${username}${totpSecret === undefined ? '' : ' with a one-time code'}`);
      try {
        return await this.#options.transport.send(action, 'POST', `${this.#options.config.baseUrl}/login/?login_only=1`, { 'Content-Type': 'application/x-www-form-urlencoded' }, form.toString(), this.#options.signal);
      } catch (error) {
        if (typeof error === 'object' && error !== null) duringLogin.add(error);
        throw error;
      }
    };
    const isTfa = (answer: HttpAnswer): boolean => answer.text.includes('tfa_login_form') || /"message"\s*:\s*"[^"]*(tfa|two.?factor|security code)/i.test(answer.text);
    let answer = await attempt();
    if (isTfa(answer) && totpSecret !== undefined) {
      this.#options.log.info('cpanel: the server refused the one-time code at login; another client may have used it, trying once more with the next code');
      answer = await attempt();
    }
    if (isTfa(answer)) {
      throw await this.#refusal(
        totpSecret === undefined
          ? new AuthError('missing-totp-token', `cpanel: ${action}: the account ${username} has two-factor authentication on: set CPANEL_TOTP_SECRET to its base32 TOTP secret`)
          : new AuthError('auth-invalid-totp', `cpanel: ${action}: the server refused the two-factor code at login twice: check CPANEL_TOTP_SECRET and that this machine's clock is right (within 30 s)`),
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      body = undefined;
    }
    const cookie = [answer.headers['set-cookie'] ?? []]
      .flat()
      .map((line) => /^\s*cpsession=([^;]*)/.exec(line)?.[1])
      .find((value) => value !== undefined && value !== '');
    if (isRecord(body) && body.status === 1 && typeof body.security_token === 'string' && /^\/cpsess\d+$/.test(body.security_token) && cookie !== undefined) {
      const session: CachedSession = { baseUrl: this.#options.config.baseUrl, username, securityToken: body.security_token, cookie, obtainedAt: new Date().toISOString() };
      registerDerivedSecret(session.cookie);
      registerDerivedSecret(session.securityToken);
      await writePrivateFile(this.paths.session, `${JSON.stringify(session)}\n`);
      await this.#accepted();
      return session;
    }
    if (isRecord(body) && body.status === 0) {
      throw await this.#refusal(
        new AuthError(
          'auth-invalid-credentials',
          `cpanel: ${action}: the server refused the login of ${username} (${typeof body.message === 'string' ? body.message : 'status 0'}): check CPANEL_USERNAME and CPANEL_PASSWORD. Not retried, so cPHulk does not lock the account`,
        ),
      );
    }
    throw new BoxApiError('box-http', `cpanel: ${action}: the login answer (HTTP ${answer.status}) had no session (security_token and cpsession cookie): ${snippet(answer.text)}`, { status: answer.status, body: answer.text.slice(0, 500) });
  }

  /** Ends the cached session on the server and forgets it here; false when there was none. */
  async logout(): Promise<boolean> {
    if (this.#auth.method !== 'session') return false;
    return withLock(this.paths.loginLock, async () => {
      const cached = await this.#readCache();
      this.#session = undefined;
      if (cached === undefined) return false;
      // GUESS (undocumented for the API): the web UI's logout ends the session the cookie names.
      await this.#options.transport.send('logout', 'GET', `${this.#options.config.baseUrl}${cached.securityToken}/logout/`, { Cookie: `cpsession=${cached.cookie}` }).catch(() => undefined);
      await removeFile(this.paths.session);
      return true;
    });
  }

  #data(action: string, module: string, func: string, answer: HttpAnswer): unknown {
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      body = undefined;
    }
    if (answer.status !== 200 || !isRecord(body) || typeof body.status !== 'number') {
      throw new BoxApiError('box-http', `cpanel: ${action}: ${module}::${func} answered HTTP ${answer.status} without the UAPI envelope: ${snippet(answer.text)}`, {
        status: answer.status,
        body: answer.text.slice(0, 500),
      });
    }
    if (body.status !== 1) {
      const errors = Array.isArray(body.errors) ? body.errors.map(String) : [];
      const text = errors.join('; ') || 'no reason given';
      if (/feature/i.test(text)) {
        throw new AuthError('auth-invalid-credentials', `cpanel: ${action}: ${module}::${func} refused: ${text}; the account or API token needs the Zone Editor feature`);
      }
      throw new UapiCallError(`cpanel: ${action}: ${module}::${func} failed: ${text}`, errors);
    }
    return body.data;
  }
}
