/**
 * The box's admin API, reduced to what DNS-01 and dynamic DNS need. Two requests are
 * deliberately impossible for TXT here: `PUT` (replaces every value of a name, wiping the other
 * value of a wildcard+apex pair) and a `DELETE` without a value (removes every value). `PUT`
 * exists only for A/AAAA, whose names belong to one `serve` client each.
 */
import { AuthError, BoxApiError, MiabDns01Error } from '../../errors.js';
import type { Authenticator, LoginEndpoint, LoginResponse } from './types.js';
import type { Logger } from '../../util/log.js';
import { DEFAULT_RETRY_POLICY, withRetries, type RetryPolicy } from '../http/retry.js';
import { deleteRefusedError, dialectMismatchError, FORK_UNSAFE_TO_DELETE, isForkRefusal, listsForkTtl, replaceBody, UPSTREAM_DIALECT, writeBody, type BoxDialect, type WriteBody } from './dialect.js';
import { neverReachedBox, type BoxMethod, type BoxResponse, type Transport } from './transport.js';

/** A record as `GET /dns/custom...` lists it. */
export interface BoxRecord {
  readonly qname: string;
  readonly rtype: string;
  readonly value: string;
}

export type WritableRecordType = 'TXT';
/** The only types `PUT` (replace) may be sent for. */
export type ReplaceableRecordType = 'A' | 'AAAA';
export type ReadableRecordType = 'TXT';

export { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../http/retry.js';

export interface BoxClientOptions {
  readonly apiUrl: string;
  readonly transport: Transport;
  readonly log: Logger;
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Once aborted: no back-off sleep goes on (a pending one ends at once, rejecting with the
   * signal's reason), a read in flight is cut short, and every later request is sent once,
   * without retries. Writes in flight finish, and new requests are still sent, so that the
   * caller can take back what it wrote.
   */
  readonly signal?: AbortSignal;
  /** How record writes are encoded: upstream's raw body or Power Mail-in-a-Box's form. @default upstream */
  readonly dialect?: BoxDialect;
}

/** Counters a benchmark or test can read: what this client sent to the box. */
export interface BoxCallCounts {
  logins: number;
  reads: number;
  writes: number;
}

const TRANSIENT_STATUS = new Set([502, 503, 504]);

/**
 * Errors of the authenticator (a login that failed, or found the box unreachable) end the
 * request: retrying it would send another login, and the box bans IPs for failed logins.
 */
const fromAuthenticator = new WeakSet<object>();

function isTransient(error: unknown): boolean {
  if (!(error instanceof BoxApiError) || fromAuthenticator.has(error)) return false;
  if (error.code === 'box-unreachable' || error.code === 'box-timeout') return true;
  return error.code === 'box-http' && error.status !== undefined && TRANSIENT_STATUS.has(error.status);
}

/** The change may have landed although we got no success answer (nginx 504, our timeout). */
function mayHaveApplied(error: unknown): boolean {
  return error instanceof BoxApiError && (error.code === 'box-timeout' || error.status === 504 || error.code === 'box-unreachable');
}

function shorten(text: string): string {
  const plain = text.replace(/\s+/g, ' ').trim();
  return plain.length > 160 ? `${plain.slice(0, 160)}...` : plain;
}

/**
 * A response body in one short line. An HTML page (nginx's 502/504, the daemon's 500) says
 * its message in the title, and says it again in the body: the title alone is kept.
 */
export function firstLine(text: string): string {
  if (/<(html|head|body|title|h1)[\s>]/i.test(text)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1] ?? /<h1[^>]*>([^<]*)<\/h1>/i.exec(text)?.[1];
    if (title !== undefined && title.trim() !== '') return shorten(title);
  }
  return shorten(text.replace(/<[^>]*>/g, ' '));
}

/** A 200 that is not JSON (a proxy's page, the wrong URL) is the box's fault, not a crash. */
function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BoxApiError('box-http', `${what} answered something that is not JSON; is MIAB_URL the box's admin API (https://<box>/admin)?`, { body: firstLine(text) });
  }
}

export function encodeQname(qname: string): string {
  return qname.split('/').map(encodeURIComponent).join('%2F');
}

export class BoxClient implements LoginEndpoint {
  readonly apiUrl: string;
  readonly counts: BoxCallCounts = { logins: 0, reads: 0, writes: 0 };
  readonly #transport: Transport;
  readonly #log: Logger;
  readonly #retry: RetryPolicy;
  readonly #signal: AbortSignal | undefined;
  readonly #dialect: BoxDialect;
  /**
   * How this box showed it is the fork while we speak upstream's dialect: `refused` (it refused
   * a value as the fork refuses a raw body: no write goes out after) or `listed` (its listing
   * has per-record TTLs: no DELETE goes out after).
   */
  #forkSeen: 'refused' | 'listed' | undefined;
  #auth: Authenticator | undefined;

  constructor(options: BoxClientOptions) {
    this.apiUrl = options.apiUrl;
    this.#transport = options.transport;
    this.#log = options.log;
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#signal = options.signal;
    this.#dialect = options.dialect ?? UPSTREAM_DIALECT;
  }

  /** Set after construction because the session authenticator logs in through this client. */
  useAuthenticator(auth: Authenticator): void {
    this.#auth = auth;
  }

  get authenticator(): Authenticator {
    if (this.#auth === undefined) throw new Error('BoxClient used before useAuthenticator()');
    return this.#auth;
  }

  // --- LoginEndpoint: used only by the session authenticator -------------------------------

  async login(authorization: string, totpCode: string | undefined): Promise<LoginResponse> {
    this.counts.logins += 1;
    // Never retried: a login that reached the box and failed counts toward its IP ban.
    const response = await this.#transport.send('POST', `${this.apiUrl}/login`, {
      authorization,
      accept: 'application/json',
      ...(totpCode === undefined ? {} : { 'x-auth-token': totpCode }),
    });
    if (response.status !== 200) throw this.#statusError('POST', '/login', response);
    try {
      return JSON.parse(response.text) as LoginResponse;
    } catch {
      throw new BoxApiError('box-http', `POST ${this.apiUrl}/login answered something that is not JSON; is MIAB_URL the box's admin API (https://<box>/admin)? The API needs Mail-in-a-Box v55 or later`, { status: response.status, body: firstLine(response.text) });
    }
  }

  loginNeverReached(error: unknown): boolean {
    // nginx answers 502 (503) itself while the daemon is down: the daemon saw nothing.
    return neverReachedBox(error) || (error instanceof BoxApiError && error.code === 'box-http' && (error.status === 502 || error.status === 503));
  }

  async logout(authorization: string): Promise<void> {
    await this.#transport.send('POST', `${this.apiUrl}/logout`, { authorization, accept: 'application/json' });
  }

  // --- API ------------------------------------------------------------------------------------

  /** The zones the box serves (lower-case punycode). */
  async zones(): Promise<string[]> {
    const text = await this.#read('/dns/zones');
    const zones = parseJson(text, 'GET /dns/zones');
    if (!Array.isArray(zones) || !zones.every((zone) => typeof zone === 'string')) {
      throw new BoxApiError('box-http', 'GET /dns/zones did not answer a list of zone names', { body: firstLine(text) });
    }
    return zones.map((zone: string) => zone.toLowerCase());
  }

  /** Custom records of one name and type. */
  async records(qname: string, rtype: ReadableRecordType): Promise<string[]> {
    return this.#parseRecords(qname, rtype, await this.#read(`/dns/custom/${encodeQname(qname)}/${rtype}`));
  }

  #parseRecords(qname: string, rtype: ReadableRecordType, text: string): string[] {
    const records = parseJson(text, `GET /dns/custom/${qname}/${rtype}`);
    if (!Array.isArray(records)) throw new BoxApiError('box-http', `GET /dns/custom/${qname}/${rtype} did not answer a list`, { body: firstLine(text) });
    this.#noteListing(records);
    return (records as BoxRecord[]).filter((record) => record.qname === qname && record.rtype === rtype).map((record) => record.value);
  }

  /** The CNAME records among all custom records, as a map from name to target. */
  async cnames(): Promise<Record<string, string>> {
    const text = await this.#read('/dns/custom');
    const records = parseJson(text, 'GET /dns/custom');
    if (!Array.isArray(records)) throw new BoxApiError('box-http', 'GET /dns/custom did not answer a list', { body: firstLine(text) });
    this.#noteListing(records);
    const cnames: Record<string, string> = {};
    for (const record of records as BoxRecord[]) {
      if (record.rtype === 'CNAME') cnames[record.qname.toLowerCase()] = record.value.toLowerCase().replace(/\.$/, '');
    }
    return cnames;
  }

  /** Every custom record (one fresh listing), for reading a name's addresses and CNAME together. */
  async allRecords(): Promise<BoxRecord[]> {
    const text = await this.#read('/dns/custom');
    const records = parseJson(text, 'GET /dns/custom');
    if (!Array.isArray(records)) throw new BoxApiError('box-http', 'GET /dns/custom did not answer a list', { body: firstLine(text) });
    this.#noteListing(records);
    return (records as BoxRecord[]).filter((record) => typeof record.qname === 'string' && typeof record.rtype === 'string' && typeof record.value === 'string');
  }

  /**
   * Replaces every `rtype` value at `qname` with `value` (`PUT`). Idempotent, so a transient
   * failure is simply retried. In upstream's dialect a box that showed it is the fork gets no
   * `PUT`: the fork reads a raw body as "no value", and for A/AAAA "no value" means the
   * caller's address, which behind `serve` is `serve`'s own.
   */
  async replaceRecord(qname: string, rtype: ReplaceableRecordType, value: string): Promise<void> {
    // Checked at run time too: a PUT of a TXT would wipe the other value of a wildcard + apex pair.
    if (rtype !== 'A' && rtype !== 'AAAA') throw new MiabDns01Error('invalid-value', `refusing to replace ${String(rtype)} records: only A and AAAA are replaced`);
    if (typeof qname !== 'string' || qname === '') throw new MiabDns01Error('invalid-name', 'refusing to replace the addresses of an empty name');
    if (typeof value !== 'string' || value.trim() === '') throw new MiabDns01Error('invalid-value', `refusing to send PUT ${qname}/${rtype} without a value: the box would use the caller's address`);
    if (this.#forkSeen !== undefined) throw dialectMismatchError(qname, undefined);
    const path = `/dns/custom/${encodeQname(qname)}/${rtype}`;
    const body = replaceBody(this.#dialect, value);
    await this.#retrying(`PUT ${path}`, async () => {
      this.counts.writes += 1;
      await this.#authenticated('PUT', path, body);
    });
    if (this.#dialect.flavor === 'upstream') {
      // A box with no custom record at all lists nothing that could show it is the fork. The
      // read-back does: on the fork it lists the new record with a TTL, which stops every later
      // PUT and DELETE of this process (see #noteListing).
      const stored = (await this.allRecords()).filter((record) => record.qname === qname && record.rtype === rtype).map((record) => record.value);
      if (stored.length !== 1 || stored[0] !== value) {
        throw new MiabDns01Error('box-dialect-mismatch', `the box stored ${rtype} ${qname} = ${stored.join(', ') || '(nothing)'} instead of ${value}: it probably speaks the Power Mail-in-a-Box dialect (form bodies). Set MIAB_FLAVOR=power (or "flavor = power" in the credentials file) and restart serve`, { unsafeToDelete: FORK_UNSAFE_TO_DELETE });
      }
    }
  }

  /** Appends one value; adding a value that exists is a no-op on the box (`OK`). */
  async addRecord(qname: string, rtype: WritableRecordType, value: string): Promise<void> {
    await this.#write('POST', qname, rtype, value);
  }

  /** Removes exactly one value; removing a missing value is a no-op on the box (`OK`). */
  async removeRecord(qname: string, rtype: WritableRecordType, value: string): Promise<void> {
    await this.#write('DELETE', qname, rtype, value);
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  // --- internals ------------------------------------------------------------------------------

  /**
   * A listing in the upstream dialect whose records carry a TTL is the fork's: free evidence
   * (no extra request) that guards the DELETE of a clean-up that read the name first.
   */
  #noteListing(rows: readonly unknown[]): void {
    if (this.#dialect.flavor === 'upstream' && listsForkTtl(rows)) this.#forkSeen ??= 'listed';
  }

  async #read(path: string): Promise<string> {
    const response = await this.#retrying(`GET ${path}`, async () => {
      this.counts.reads += 1;
      return this.#authenticated('GET', path);
    });
    return response.text;
  }

  async #write(method: 'POST' | 'DELETE', qname: string, rtype: WritableRecordType, value: string): Promise<void> {
    // The one guard that makes a value-less DELETE (which wipes every value) impossible.
    if (typeof value !== 'string' || value.trim() === '') {
      throw new MiabDns01Error('invalid-value', `refusing to send ${method} ${qname} without a value: the box would treat it as "every value"`);
    }
    // In the upstream dialect, a DELETE on the fork removes every value at the name. After a
    // mere listing a POST is still sent: the fork refuses it harmlessly, and that is the proof.
    if (method === 'DELETE' && this.#forkSeen !== undefined) throw deleteRefusedError(qname);
    if (method === 'POST' && this.#forkSeen === 'refused') throw dialectMismatchError(qname, undefined);
    const path = `/dns/custom/${encodeQname(qname)}/${rtype}`;
    const body = writeBody(this.#dialect, method, value);
    let ambiguous = false;
    await this.#retrying(`${method} ${path}`, async () => {
      if (ambiguous) {
        // The last attempt may have landed (nginx gives up at 60 s while the box carries on).
        // One read, not a retried one: a failure here fails this attempt of the write's own
        // bounded retry loop (nesting two loops would multiply the attempts and the time).
        this.counts.reads += 1;
        const present = this.#parseRecords(qname, 'TXT', (await this.#authenticated('GET', path)).text).includes(value);
        if (present === (method === 'POST')) {
          this.#log.info(`the box had applied ${method} ${qname} despite the error; not sending it again`);
          return;
        }
      }
      try {
        this.counts.writes += 1;
        await this.#authenticated(method, path, body);
      } catch (error) {
        if (method === 'POST' && this.#dialect.flavor === 'upstream' && error instanceof BoxApiError && isForkRefusal(error)) {
          this.#forkSeen = 'refused';
          throw dialectMismatchError(qname, error);
        }
        ambiguous = mayHaveApplied(error);
        throw error;
      }
    });
  }

  /** Runs `attempt`, retrying transient faults under the policy (http/retry.ts: p-retry, signal-aware). */
  #retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    return withRetries(attempt, { policy: this.#retry, isTransient, what, log: this.#log, signal: this.#signal });
  }

  async #authenticated(method: BoxMethod, path: string, body?: WriteBody): Promise<BoxResponse> {
    const auth = this.authenticator;
    const headers = (authorization: string): Record<string, string> => ({
      authorization,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': body.contentType }),
    });
    const first = await this.#fromAuthenticator(() => auth.authorization());
    // A read in flight is cut short by a signal; a write finishes (its undo may follow).
    const signal = method === 'GET' && this.#signal?.aborted !== true ? this.#signal : undefined;
    let response = await this.#transport.send(method, `${this.apiUrl}${path}`, headers(first), body?.text, signal);
    if (response.status === 401 && !this.#notAdmin(response)) {
      const fresh = await this.#fromAuthenticator(() => auth.refreshAfterRejection(first));
      if (fresh !== undefined) response = await this.#transport.send(method, `${this.apiUrl}${path}`, headers(fresh), body?.text, signal);
    }
    if (response.status >= 200 && response.status < 300) return response;
    throw this.#statusError(method, path, response);
  }

  async #fromAuthenticator<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      // A login the daemon never saw (nginx's 502 while it restarts) may be retried like any
      // request: it spent no code and counts toward no ban.
      const proxyAnswer = error instanceof BoxApiError && error.code === 'box-http' && this.loginNeverReached(error);
      if (typeof error === 'object' && error !== null && !proxyAnswer) fromAuthenticator.add(error);
      throw error;
    }
  }

  #notAdmin(response: BoxResponse): boolean {
    return this.#reason(response).includes('not an administrator');
  }

  #reason(response: BoxResponse): string {
    const header = response.headers['x-reason'];
    if (typeof header === 'string') return header;
    try {
      const parsed: unknown = JSON.parse(response.text);
      if (typeof parsed === 'object' && parsed !== null && 'reason' in parsed && typeof parsed.reason === 'string') return parsed.reason;
    } catch {
      // plain text body
    }
    return firstLine(response.text);
  }

  #statusError(method: string, path: string, response: BoxResponse): MiabDns01Error {
    const where = `${method} ${path}`;
    if (response.status === 401) {
      const reason = this.#reason(response);
      if (reason.includes('not an administrator')) {
        return new AuthError('auth-not-admin', 'the account is not an administrator of the box; the DNS API needs an admin account (set MIAB_EMAIL to one)');
      }
      return this.authenticator.mode === 'system-key'
        ? new AuthError('auth-invalid-credentials', `the box refused the system key (${reason}); run on the box as root, or set MIAB_URL, MIAB_EMAIL and MIAB_PASSWORD`)
        : new AuthError('auth-session-rejected', `the box refused the session even after a fresh login (${reason}); run "miab-dns01 check" to diagnose`);
    }
    if (response.status === 400) {
      return new BoxApiError('box-rejected', `the box rejected ${where}: ${firstLine(response.text)}`, { status: 400, body: firstLine(response.text) });
    }
    if (response.status === 404 && path === '/login') {
      return new BoxApiError('box-http', `${this.apiUrl}/login does not exist: check MIAB_URL (https://<box>/admin); the API needs Mail-in-a-Box v55 or later`, { status: 404 });
    }
    const hint = TRANSIENT_STATUS.has(response.status)
      ? ' (the box is restarting or busy)'
      : response.status === 500
        ? ' (the box may have saved the change but failed to rebuild its zones: check the box\'s System Status page)'
        : '';
    const text = firstLine(response.text);
    // nginx's pages say "502 Bad Gateway": that is the status line, not more to add.
    const status = text.startsWith(`${response.status} `) ? text : `${response.status}${text === '' ? '' : `: ${text}`}`;
    return new BoxApiError('box-http', `${where} failed with HTTP ${status}${hint}`, { status: response.status, body: text });
  }
}
