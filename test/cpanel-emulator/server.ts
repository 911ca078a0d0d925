/**
 * An emulated cPanel (port 2083 side) on loopback: UAPI under `/execute/...` and
 * `/cpsessNNNNNNNNNN/execute/...`, the three ways to authenticate (API token, Basic +
 * X-CPANEL-OTP, session login), the flat JSON envelope with failures as HTTP 200 + status 0, and
 * switches for the server policy, expiry and serial races. It follows cpanel-api.md where that
 * spec knows; every answer the spec calls undocumented is marked GUESS.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ZoneDistributor } from '../emulator/publish.js';
import { verifyTotp, totpStep, totpAtStep } from '../emulator/totp.js';
import type { SecondaryOptions } from '../emulator/types.js';
import type { ZonePublisher } from '../fixtures/zones.js';
import { zoneDataOf, type ZoneRendering } from './publish.js';
import { UapiFailure, ZoneBook, type SeedRecord, type ZoneLine } from './zone.js';

export interface EmulatedToken {
  readonly token: string;
  /** Epoch ms after which the token is refused. */
  expiresAt?: number;
  /** cPanel feature names the token may use; DNS needs `zoneedit` (Zone Editor). @default ['zoneedit'] */
  features?: string[];
}

export interface CpanelEmulatorOptions {
  readonly host?: string;
  readonly port?: number;
  /** The account's domains with their own zone: the first is the main domain, the others addon domains. */
  readonly zones: readonly string[];
  /** Parked (alias) domains, also zones of the account. */
  readonly parkedZones?: readonly string[];
  readonly user: string;
  readonly password: string;
  /** Base32 secret when the account has 2FA on. */
  readonly totpSecret?: string;
  readonly tokens?: readonly EmulatedToken[];
  /** WHM » Security Policy » Two-Factor Authentication » "API requests". @default false */
  readonly apiRequires2fa?: boolean;
  /** Refuse the code accepted last (as Mail-in-a-Box does). GUESS: cPanel's replay rule is undocumented. @default true */
  readonly refuseReplayedCode?: boolean;
  /** HTTP status of the HTML login page sent when a session is gone. GUESS. @default 401 */
  readonly sessionGoneStatus?: number;
  readonly records?: readonly SeedRecord[];
  /** SOA serial of every zone at start (an emulator that replaces another on the same nameservers starts higher). */
  readonly firstSerial?: number;
  readonly tls?: { readonly key: string; readonly cert: string };
  readonly now?: () => number;
  /**
   * Real nameservers for the zones: the primary gets every change inside the request that made
   * it (as cPanel reloads BIND), the secondary after `lagMs` (test/emulator/publish.ts).
   */
  readonly dns?: ZoneRendering & { readonly primary?: ZonePublisher; readonly secondary?: SecondaryOptions };
}

export interface CpanelRequestLogEntry {
  readonly method: string;
  readonly path: string;
  readonly auth: 'token' | 'basic' | 'session' | 'login' | 'none';
  readonly otp: string | undefined;
  readonly status: number;
  /** UAPI `status`, when the answer was the JSON envelope. */
  readonly uapiStatus?: number;
}

export interface CpanelEmulator {
  readonly url: string;
  readonly port: number;
  readonly book: ZoneBook;
  readonly requests: CpanelRequestLogEntry[];
  /** Successful session logins, failed logins, UAPI calls that reached a module. */
  readonly counts: { logins: number; failedLogins: number; calls: number; logouts: number };
  liveSessions(): number;
  setApiRequires2fa(on: boolean): void;
  /** Every current session is forgotten (server-side expiry). */
  expireSessions(): void;
  /** While on, every call inside a session gets the login page (sessions die at once). */
  breakSessions(on: boolean): void;
  updateToken(token: string, patch: Partial<Omit<EmulatedToken, 'token'>>): void;
  /** The next `count` mass_edit_zone calls find the zone changed by another editor since it was read. */
  staleSerialOnNextWrites(count: number): void;
  txt(name: string): string[];
  lines(zone: string): readonly ZoneLine[];
  stop(): Promise<void>;
}

interface Session {
  readonly token: string;
  readonly cookie: string;
}

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly uapiStatus?: number;
  /** The zones changed: publish before answering. */
  readonly changed?: boolean;
}

const LOGIN_PAGE =
  '<!DOCTYPE html>\n<html><head><title>cPanel Login</title></head><body>\n<form id="login_form" action="/login/" method="post">\n<input name="user"><input name="pass" type="password">\n</form></body></html>\n';

// cPanel's Perl client (Cpanel::PublicAPI) recognises a 2FA demand by this form id in the page.
const TFA_PAGE =
  '<!DOCTYPE html>\n<html><head><title>cPanel Login</title></head><body>\n<form id="tfa_login_form" action="/login/" method="post">\n<label for="tfa_token">Security code</label><input name="tfa_token">\n</form></body></html>\n';

function html(status: number, body: string): Reply {
  return { status, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body };
}

function json(status: number, value: unknown, extraHeaders: Record<string, string> = {}): Reply {
  return { status, headers: { 'Content-Type': 'application/json; charset=UTF-8', ...extraHeaders }, body: JSON.stringify(value) };
}

/** The flat UAPI envelope as it comes over HTTP (not wrapped in `result`). */
function envelope(module: string, func: string, data: unknown, errors: string[] | null = null): Reply {
  const status = errors === null ? 1 : 0;
  return {
    ...json(200, { apiversion: 3, module, func, status, errors, messages: null, warnings: null, metadata: {}, data: errors === null ? data : null }),
    uapiStatus: status,
  };
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export async function startCpanelEmulator(options: CpanelEmulatorOptions): Promise<CpanelEmulator> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`the cPanel emulator listens on loopback only (got ${host})`);
  const now = options.now ?? Date.now;
  const book = new ZoneBook([...options.zones, ...(options.parkedZones ?? [])], options.records ?? [], options.firstSerial);
  const tokens = new Map((options.tokens ?? []).map((token) => [token.token, { ...token }]));
  const sessions = new Map<string, Session>();
  const requests: CpanelRequestLogEntry[] = [];
  const counts = { logins: 0, failedLogins: 0, calls: 0, logouts: 0 };
  let apiRequires2fa = options.apiRequires2fa ?? false;
  let staleWrites = 0;
  let sessionsBroken = false;
  let lastAcceptedCode: string | undefined;
  const refuseReplay = options.refuseReplayedCode ?? true;

  /** One TOTP check for the account, with the replay rule. */
  function acceptCode(code: string | undefined): boolean {
    const secret = options.totpSecret;
    if (secret === undefined) return true;
    if (code === undefined || !/^\d{6}$/.test(code) || !verifyTotp(secret, code, now())) return false;
    if (refuseReplay && code === lastAcceptedCode) return false;
    lastAcceptedCode = code;
    return true;
  }

  function uapi(module: string, func: string, params: URLSearchParams): Reply {
    counts.calls += 1;
    const key = `${module}::${func}`;
    try {
      if (key === 'DomainInfo::list_domains') {
        const [main = '', ...addons] = options.zones;
        return envelope(module, func, { main_domain: main, addon_domains: addons, parked_domains: [...(options.parkedZones ?? [])], sub_domains: [] });
      }
      if (key === 'DNS::parse_zone') {
        const zone = (params.get('zone') ?? '').toLowerCase();
        return envelope(module, func, book.parseZone(zone));
      }
      if (key === 'DNS::mass_edit_zone') {
        const zone = (params.get('zone') ?? '').toLowerCase();
        if (!book.has(zone)) throw new UapiFailure(`You do not have access to a domain named “${zone}”.`);
        if (staleWrites > 0) {
          staleWrites -= 1;
          book.foreignEdit(zone);
        }
        // Several items of one kind come as suffixed keys (`add-0`, `add-1`, ...), one as the bare key.
        const collect = (kind: string): string[] =>
          [...params.entries()].filter(([name]) => name === kind || new RegExp(`^${kind}-\\d+$`).test(name)).map(([, value]) => value);
        const newSerial = book.massEdit(zone, params.get('serial') ?? undefined, collect('add'), collect('edit'), collect('remove'));
        return { ...envelope(module, func, { new_serial: newSerial }), changed: true };
      }
      // GUESS: wording for an unknown module or function.
      return envelope(module, func, null, [`Failed to load module “${module}”: the function “${func}” does not exist.`]);
    } catch (error) {
      if (error instanceof UapiFailure) return envelope(module, func, null, [error.message]);
      throw error;
    }
  }

  function login(body: string): Reply {
    const form = new URLSearchParams(body);
    if (form.get('user') !== options.user || form.get('pass') !== options.password) {
      counts.failedLogins += 1;
      // cpanel-api.md: status 0, message mentions an invalid login. GUESS: the HTTP status 401.
      return json(401, { status: 0, message: 'invalid_login', redirect: '/' });
    }
    if (!acceptCode(form.get('tfa_token') ?? undefined)) {
      counts.failedLogins += 1;
      // GUESS: undocumented; answered with the 2FA form page (the marker cPanel's client looks for).
      return html(401, TFA_PAGE);
    }
    counts.logins += 1;
    const token = `/cpsess${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`;
    const cookie = `${encodeURIComponent(options.user)}%3a${randomBytes(16).toString('hex')}`;
    sessions.set(token, { token, cookie });
    return json(
      200,
      { status: 1, security_token: token, redirect: `${token}/frontend/jupiter/index.html` },
      { 'Set-Cookie': `cpsession=${cookie}; HttpOnly; path=/; secure` },
    );
  }

  function handle(method: string, target: string, headers: IncomingMessage['headers'], body: string): Reply & { auth: CpanelRequestLogEntry['auth'] } {
    const url = new URL(target, 'http://emulator.invalid');
    const path = url.pathname;
    if (path === '/login/' || path === '/login') {
      if (method !== 'POST') return { ...html(200, LOGIN_PAGE), auth: 'none' };
      return { ...login(body), auth: 'login' };
    }
    const sessionMatch = /^(\/cpsess\d{10})(\/.*)$/.exec(path);
    const rest = sessionMatch ? sessionMatch[2] ?? '' : path;
    const cookie = cookieValue(headers.cookie, 'cpsession');
    if (rest === '/logout/' || rest === '/logout') {
      // GUESS: logout path and answer; it ends the session the cookie names.
      for (const [token, session] of sessions) if (session.cookie === cookie) sessions.delete(token);
      counts.logouts += 1;
      return { ...html(200, LOGIN_PAGE), auth: 'session' };
    }
    const call = /^\/execute\/([A-Za-z]+)\/([a-z_]+)\/?$/.exec(rest);
    if (!call) return { ...html(404, '<html><body>Not Found</body></html>'), auth: 'none' };
    const params = method === 'POST' ? new URLSearchParams(body) : url.searchParams;
    if (method === 'POST') for (const [name, value] of url.searchParams) params.append(name, value);
    const [, module = '', func = ''] = call;

    if (sessionMatch) {
      const session = sessions.get(sessionMatch[1] ?? '');
      // Both are needed: the security token in the path and the cookie of the same session.
      if (!session || session.cookie !== cookie || sessionsBroken) return { ...html(options.sessionGoneStatus ?? 401, LOGIN_PAGE), auth: 'session' };
      return { ...uapi(module, func, params), auth: 'session' };
    }
    const authorization = headers.authorization ?? '';
    const tokenAuth = /^cpanel\s+([^:\s]+):(\S+)$/i.exec(authorization);
    if (tokenAuth) {
      const token = tokens.get(tokenAuth[2] ?? '');
      if (tokenAuth[1] !== options.user || !token || (token.expiresAt !== undefined && token.expiresAt <= now())) {
        // "Access denied" with 401 as reported by users of expired tokens (GUESS: exact body).
        return { status: 401, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'Access denied', auth: 'token' };
      }
      const features = token.features ?? ['zoneedit'];
      if ((module === 'DNS' && !features.includes('zoneedit'))) {
        return { status: 403, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'Access denied: the API token lacks the feature “zoneedit”.', auth: 'token' }; // GUESS
      }
      return { ...uapi(module, func, params), auth: 'token' };
    }
    const basic = /^Basic\s+(\S+)$/i.exec(authorization);
    if (basic) {
      const decoded = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (decoded.slice(0, colon) !== options.user || decoded.slice(colon + 1) !== options.password) {
        return { ...html(401, LOGIN_PAGE), auth: 'basic' }; // GUESS: wrong password on Basic
      }
      // 2FA applies to API calls only when the server policy "API requests" is on.
      if (apiRequires2fa && options.totpSecret !== undefined) {
        const otp = headers['x-cpanel-otp'];
        if (!acceptCode(Array.isArray(otp) ? otp[0] : otp)) return { ...html(401, TFA_PAGE), auth: 'basic' }; // GUESS: status 401
      }
      return { ...uapi(module, func, params), auth: 'basic' };
    }
    return { ...html(401, LOGIN_PAGE), auth: 'none' };
  }

  const distributor = options.dns ? new ZoneDistributor(options.dns.primary, options.dns.secondary) : undefined;
  const rendering: ZoneRendering | undefined = options.dns;
  const publishChange = async (): Promise<void> => {
    if (distributor !== undefined && rendering !== undefined) await distributor.publishChange(zoneDataOf(book, rendering));
  };
  if (distributor !== undefined && rendering !== undefined) await distributor.publishInitial(zoneDataOf(book, rendering));

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Uint8Array[] = [];
    req.on('data', (chunk: Uint8Array) => chunks.push(chunk));
    req.on('end', async () => {
      let reply: Reply & { auth: CpanelRequestLogEntry['auth'] };
      try {
        reply = handle((req.method ?? 'GET').toUpperCase(), req.url ?? '/', req.headers, Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        console.error('[cpanel-emulator] request failed:', error);
        reply = { ...html(500, '<html><body>Internal Server Error</body></html>'), auth: 'none' };
      }
      if (reply.changed) {
        try {
          await publishChange();
        } catch (error) {
          console.error('[cpanel-emulator] publishing the zones failed:', error);
          reply = { ...html(500, '<html><body>Internal Server Error</body></html>'), auth: reply.auth };
        }
      }
      const otp = req.headers['x-cpanel-otp'];
      requests.push({
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        auth: reply.auth,
        otp: Array.isArray(otp) ? otp[0] : otp,
        status: reply.status,
        ...(reply.uapiStatus === undefined ? {} : { uapiStatus: reply.uapiStatus }),
      });
      res.writeHead(reply.status, { ...reply.headers, 'Content-Length': String(Buffer.byteLength(reply.body)) });
      res.end(reply.body);
    });
  };
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest) : createHttpServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let stopped: Promise<void> | undefined;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    book,
    requests,
    counts,
    liveSessions: () => sessions.size,
    setApiRequires2fa(on) {
      apiRequires2fa = on;
    },
    expireSessions() {
      sessions.clear();
    },
    breakSessions(on) {
      sessionsBroken = on;
    },
    updateToken(token, patch) {
      const entry = tokens.get(token);
      if (!entry) throw new Error(`no such token`);
      Object.assign(entry, patch);
    },
    staleSerialOnNextWrites(count) {
      staleWrites = count;
    },
    txt: (name) => book.txt(name),
    lines: (zone) => book.lines(zone),
    stop() {
      distributor?.stop();
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

/** The code an authenticator app shows now, and the one of the next step (for tests). */
export function emulatorTotp(secret: string, nowMs: number, stepOffset = 0): string {
  return totpAtStep(secret, totpStep(nowMs) + stepOffset);
}
