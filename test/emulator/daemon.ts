/**
 * The management daemon (daemon.py): Flask routing, the authorized_personnel_only
 * decorator, /login, /logout and the DNS routes a DNS-01 client uses. Takes one parsed
 * request and returns the reply; HTTP plumbing, queueing and faults live in server.ts.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ZoneData } from '../fixtures/zones.js';
import { AUTH_REALM, AuthFailure, type AuthService, type AuthSuccess } from './auth.js';
import type { ZoneDistributor } from './publish.js';
import {
  FLASK_INTERNAL_ERROR,
  FLASK_METHOD_NOT_ALLOWED,
  FLASK_NOT_FOUND,
  asciiIgnore,
  pyJsonDumps,
  pyStrip,
  type JsonValue,
} from './python.js';
import { FORK_TTL_MAX, FORK_TTL_MIN, pyRepr, RecordError, type CustomDnsStore, type RecordAction, type ZoneRenderer } from './records.js';
import type { AuthKind, CustomRecord, EmulatorFlavor } from './types.js';

export interface DaemonRequest {
  readonly method: string;
  /** Path as the daemon sees it (basePath removed), percent-decoded, no query string. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** X-Forwarded-For as nginx sets it; undefined when talking to the daemon directly. */
  readonly forwardedFor: string | undefined;
}

export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly authKind: AuthKind;
}

const HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json';

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** daemon.py json_response: indent=2, sorted keys, trailing newline. */
function jsonReply(data: JsonValue, authKind: AuthKind, status = 200): Reply {
  return {
    status,
    headers: { 'Content-Type': JSON_TYPE },
    body: pyJsonDumps(data, { indent: 2, sortKeys: true }) + '\n',
    authKind,
  };
}

function htmlReply(body: string, authKind: AuthKind, status = 200, extra: Record<string, string> = {}): Reply {
  return { status, headers: { 'Content-Type': HTML, ...extra }, body, authKind };
}

type Handler = (request: DaemonRequest, params: readonly string[]) => Promise<Reply>;

interface Route {
  /** Literal segments, or null for a `<param>` (one non-empty segment). */
  readonly pattern: readonly (string | null)[];
  readonly methods: readonly string[];
  readonly handler: Handler;
}

export class Daemon {
  private failed = 0;
  private logged = 0;
  private readonly routes: readonly Route[];
  private latestZones: ZoneData[];

  constructor(
    private readonly auth: AuthService,
    private readonly store: CustomDnsStore,
    private readonly renderer: ZoneRenderer,
    private readonly distributor: ZoneDistributor,
    private readonly secondaryNameservers: readonly string[],
    private readonly flavor: EmulatorFlavor = 'upstream',
  ) {
    this.latestZones = renderer.render();
    const dnsRecord: Handler = (req, params) => this.dnsSetRecord(req, params[0] ?? '', params[1] ?? 'A');
    this.routes = [
      { pattern: [], methods: ['GET'], handler: async () => htmlReply(INDEX_PAGE, 'none') },
      { pattern: ['login'], methods: ['POST'], handler: (req) => this.login(req) },
      { pattern: ['logout'], methods: ['POST'], handler: (req) => this.logout(req) },
      { pattern: ['dns', 'zones'], methods: ['GET'], handler: (req) => this.admin(req, (kind) => this.dnsZones(kind)) },
      { pattern: ['dns', 'custom'], methods: ['GET'], handler: (req) => this.admin(req, (kind) => this.dnsList(kind)) },
      { pattern: ['dns', 'custom', null], methods: ['GET', 'POST', 'PUT', 'DELETE'], handler: dnsRecord },
      { pattern: ['dns', 'custom', null, null], methods: ['GET', 'POST', 'PUT', 'DELETE'], handler: dnsRecord },
      {
        pattern: ['dns', 'secondary-nameserver'],
        methods: ['GET'],
        handler: (req) =>
          this.admin(req, async (kind) => jsonReply({ hostnames: [...this.secondaryNameservers] }, kind)),
      },
    ];
  }

  get failedLogins(): number {
    return this.failed;
  }

  get loggedFailedLogins(): number {
    return this.logged;
  }

  resetCounters(): void {
    this.failed = 0;
    this.logged = 0;
  }

  /** A record added outside the API (another client, the admin panel), published like a write. */
  async addDirectly(record: CustomRecord): Promise<boolean> {
    const changedZone = this.store.set(record.qname, record.rtype, record.value, 'add', record.ttl);
    if (changedZone === null) return false;
    this.latestZones = this.renderer.render([changedZone]);
    await this.distributor.publishChange(this.latestZones);
    return true;
  }

  /** The zones as last rendered (what the primary was given). */
  zones(): ZoneData[] {
    return this.latestZones;
  }

  async handle(request: DaemonRequest): Promise<Reply> {
    const segments = request.path === '/' ? [] : request.path.slice(1).split('/');
    const route = this.routes.find(
      (r) =>
        r.pattern.length === segments.length &&
        r.pattern.every((part, i) => (part === null ? (segments[i] ?? '') !== '' : part === segments[i])),
    );
    const peek = this.auth.peekKind(header(request.headers, 'authorization'));
    if (!route || !request.path.startsWith('/')) return htmlReply(FLASK_NOT_FOUND, peek, 404);
    // Werkzeug answers HEAD like GET and OPTIONS by itself, before any view runs.
    const allowed = [...route.methods, ...(route.methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].sort();
    if (request.method === 'OPTIONS') return htmlReply('', peek, 200, { Allow: allowed.join(', ') });
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    if (!route.methods.includes(method)) {
      return htmlReply(FLASK_METHOD_NOT_ALLOWED, peek, 405, { Allow: allowed.join(', ') });
    }
    const params = route.pattern.flatMap((part, i) => (part === null ? [segments[i] ?? ''] : []));
    try {
      return await route.handler({ ...request, method }, params);
    } catch (error) {
      // An exception in a view (e.g. nsd reload failed): Flask's 500 page. The change, if
      // any, is already saved, as on the box.
      console.error('[miab-emulator] view failed:', error);
      return htmlReply(FLASK_INTERNAL_ERROR, peek, 500);
    }
  }

  private authRequest(request: DaemonRequest) {
    return {
      authorization: header(request.headers, 'authorization'),
      xAuthToken: header(request.headers, 'x-auth-token'),
    };
  }

  /**
   * authorized_personnel_only: authenticate, require 'admin', or answer 401 (403 for
   * XMLHttpRequest) with the reason as text or JSON depending on Accept.
   */
  private authorize(request: DaemonRequest): { ok: true; auth: AuthSuccess } | { ok: false; reply: Reply } {
    let error: string;
    let authKind: AuthKind = 'invalid';
    try {
      const auth = this.auth.authenticate(this.authRequest(request));
      if (auth.privileges.includes('admin')) return { ok: true, auth };
      error = 'You are not an administrator.';
      authKind = auth.kind;
    } catch (e) {
      if (!(e instanceof AuthFailure)) throw e;
      error = e.message;
      this.failed++;
      // The daemon logs (for fail2ban) only when an Authorization header was sent.
      if (request.headers.authorization !== undefined) this.logged++;
      if (request.headers.authorization === undefined) authKind = 'none';
    }
    let status = 401;
    let headers: Record<string, string> = { 'WWW-Authenticate': `Basic realm="${AUTH_REALM}"`, 'X-Reason': error };
    if (header(request.headers, 'x-requested-with') === 'XMLHttpRequest') {
      status = 403;
      headers = {};
    }
    const accept = header(request.headers, 'accept');
    if (accept === undefined || accept === '' || accept === '*/*') {
      return {
        ok: false,
        reply: { status, headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }, body: error + '\n', authKind },
      };
    }
    return {
      ok: false,
      reply: {
        status,
        headers: { ...headers, 'Content-Type': JSON_TYPE },
        body: pyJsonDumps({ status: 'error', reason: error }) + '\n',
        authKind,
      },
    };
  }

  private async admin(request: DaemonRequest, view: (kind: AuthKind) => Promise<Reply>): Promise<Reply> {
    const result = this.authorize(request);
    return result.ok ? view(result.auth.kind) : result.reply;
  }

  /** POST /login: always 200, the outcome is in the JSON body. */
  private async login(request: DaemonRequest): Promise<Reply> {
    let auth: AuthSuccess;
    try {
      auth = this.auth.authenticate(this.authRequest(request), { loginOnly: true });
    } catch (e) {
      if (!(e instanceof AuthFailure)) throw e;
      this.failed++;
      const kind: AuthKind = request.headers.authorization === undefined ? 'none' : 'invalid';
      if (e.message.includes('missing-totp-token')) {
        // Returned before log_failed_login: fail2ban never sees it.
        return jsonReply({ status: 'missing-totp-token', reason: e.message }, kind);
      }
      this.logged++;
      return jsonReply({ status: 'invalid', reason: e.message }, kind);
    }
    const email = auth.email ?? '';
    return jsonReply(
      { status: 'ok', email, privileges: [...auth.privileges], api_key: this.auth.createSession(email) },
      auth.kind,
    );
  }

  /** POST /logout: always 200; only a session key used here ends that session. */
  private async logout(request: DaemonRequest): Promise<Reply> {
    let kind: AuthKind = request.headers.authorization === undefined ? 'none' : 'invalid';
    try {
      kind = this.auth.authenticate(this.authRequest(request), { logout: true }).kind;
    } catch (e) {
      if (!(e instanceof AuthFailure)) throw e;
    }
    return jsonReply({ status: 'ok' }, kind);
  }

  private async dnsZones(kind: AuthKind): Promise<Reply> {
    return jsonReply([...this.store.zones], kind);
  }

  private async dnsList(kind: AuthKind, qname?: string, rtype?: string): Promise<Reply> {
    return jsonReply(this.store.list(qname, rtype, this.flavor === 'power'), kind);
  }

  /**
   * The value (and TTL) of a record write. Upstream: the raw body. The fork: only a form
   * body's `value` and `ttl` fields; any other body (text/plain included) is "no value".
   */
  private recordInput(request: DaemonRequest): { value: string; ttl?: number } | { error: string } {
    if (this.flavor === 'upstream') return { value: pyStrip(asciiIgnore(request.body)) };
    const form = parseFormBody(request);
    const value = pyStrip(form.get('value') ?? '');
    const ttlText = pyStrip(form.get('ttl') ?? '');
    if (ttlText === '') return { value };
    // A guess at the view: Python's int() of the field, its ValueError answered as a 400 like
    // every ValueError of dns_set_record. The stored TTL is clamped to [30 s, 30 days], as the
    // fork's write_custom_dns_config does.
    if (!/^[+-]?\d+$/.test(ttlText)) return { error: `invalid literal for int() with base 10: ${pyRepr(ttlText)}` };
    return { value, ttl: Math.min(Math.max(FORK_TTL_MIN, Number(ttlText)), FORK_TTL_MAX) };
  }

  /** /dns/custom/<qname>[/<rtype>] (dns_set_record). */
  private async dnsSetRecord(request: DaemonRequest, qname: string, rtypeParam: string): Promise<Reply> {
    const first = this.authorize(request);
    if (!first.ok) return first.reply;
    const kind = first.auth.kind;
    const rtype = rtypeParam.toUpperCase();
    const input = this.recordInput(request);

    if (request.method === 'GET') {
      // dns_set_record calls dns_get_records, itself decorated with
      // authorized_personnel_only: a second authentication, which sees a password+TOTP
      // request's code as a replay.
      const second = this.authorize(request);
      if (!second.ok) return second.reply;
      return this.dnsList(kind, qname, rtype);
    }

    if ('error' in input) return htmlReply(input.error, kind, 400);
    let value: string | null = input.value;
    let action: RecordAction;
    if (request.method === 'POST' || request.method === 'PUT') {
      // An empty A/AAAA value means "the caller's address" (X-Forwarded-For from nginx;
      // None when there is no nginx in front, which then reaches the store as "no value").
      if ((rtype === 'A' || rtype === 'AAAA') && value === '') value = request.forwardedFor ?? null;
      if (value === '') return htmlReply('No value for the record provided.', kind, 400);
      action = request.method === 'POST' ? 'add' : 'set';
    } else {
      if (value === '') value = null; // an empty DELETE removes every value of (qname, rtype)
      action = 'remove';
    }

    let changedZone: string | null;
    try {
      changedZone = this.store.set(qname, rtype, value, action, input.ttl);
    } catch (e) {
      if (e instanceof RecordError) return htmlReply(e.message, kind, 400);
      throw e;
    }
    if (changedZone === null) return htmlReply('OK', kind);
    // do_dns_update: rewrite zones, reload nsd, all before answering.
    this.latestZones = this.renderer.render([changedZone]);
    await this.distributor.publishChange(this.latestZones);
    return htmlReply(`updated DNS: ${changedZone}\n`, kind);
  }
}

/**
 * Flask's `request.form` for the one form encoding a client of this API sends: fields of an
 * `application/x-www-form-urlencoded` body, `+` as a space; empty for any other content type.
 */
function parseFormBody(request: DaemonRequest): URLSearchParams {
  const type = (header(request.headers, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return new URLSearchParams();
  return new URLSearchParams(asciiIgnore(request.body));
}

const INDEX_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Mail-in-a-Box Control Panel (emulated)</title></head>' +
  '<body><h1>Mail-in-a-Box Control Panel</h1></body></html>\n';
