/**
 * The HTTP side of the emulator: nginx in front (basePath '/admin', its error pages,
 * X-Forwarded-For) and gunicorn's single sync worker behind it (one request at a time), plus
 * fault injection and the request log. The daemon logic itself is in daemon.ts.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AuthService } from './auth.js';
import { Daemon, type Reply } from './daemon.js';
import { FaultQueue, appliesChange, isResetFault, isStatusFault } from './faults.js';
import { ZoneDistributor } from './publish.js';
import { FLASK_INTERNAL_ERROR, nginxErrorPage } from './python.js';
import { CustomDnsStore, ZoneRenderer } from './records.js';
import type { AuthKind, EmulatorOptions, Fault, MiabEmulator, RequestLogEntry } from './types.js';

export const DEFAULT_NAMESERVERS = ['ns1.box.example.test', 'ns2.box.example.test'] as const;

/** gunicorn with one sync worker: handlers run strictly one after another. */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** A real-time wait that ends early when the emulator stops. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function normalizeBasePath(basePath: string): string {
  if (basePath === '' || basePath === '/') return '';
  if (!basePath.startsWith('/')) throw new Error(`basePath must be '' or start with '/': ${basePath}`);
  return basePath.replace(/\/+$/, '');
}

/**
 * The path the daemon sees: percent-decoded (as Werkzeug routes), basePath removed the way
 * nginx's `location /admin/ { proxy_pass http://127.0.0.1:10222/; }` does. null when the
 * request is outside basePath (nginx serves something else: a 404 here).
 */
function daemonPathOf(target: string, basePath: string): string | null {
  const rawPath = target.split('?')[0] ?? '/';
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    decoded = rawPath;
  }
  if (basePath === '') return decoded;
  if (decoded === basePath) return '/'; // nginx: rewrite ^/admin$ /admin/
  if (decoded.startsWith(basePath + '/')) return decoded.slice(basePath.length);
  return null;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function send(res: ServerResponse, status: number, headers: Readonly<Record<string, string>>, body: string): void {
  if (res.destroyed) return;
  res.writeHead(status, { ...headers, 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function faultPage(status: number): { headers: Record<string, string>; body: string } {
  // 500 comes from the daemon (Flask); 502/503/504 from nginx in front of it.
  const body = status === 500 ? FLASK_INTERNAL_ERROR : nginxErrorPage(status);
  return { headers: { 'Content-Type': status === 500 ? 'text/html; charset=utf-8' : 'text/html' }, body };
}

export async function startEmulator(options: EmulatorOptions): Promise<MiabEmulator> {
  const host = options.host ?? '127.0.0.1';
  if (!options.allowNonLoopback && !isLoopback(host)) {
    throw new Error(`the emulator listens on loopback only (got host ${host})`);
  }
  const basePath = normalizeBasePath(options.basePath ?? '/admin');
  const now = options.now ?? Date.now;
  const nameservers = options.nameservers ?? DEFAULT_NAMESERVERS;
  const primaryHostname = options.primaryHostname ?? (nameservers[0] ?? 'box.example.test').replace(/^ns1\./, '');
  for (const zone of options.zones) {
    const parent = options.zones.find((other) => zone.endsWith('.' + other));
    if (parent) throw new Error(`zones never nest on a box: ${zone} is inside ${parent}`);
  }

  const auth = new AuthService(
    options.users ?? [],
    now,
    options.systemKeyFile,
    options.systemKeyTrailingNewline ?? false,
  );
  await auth.start();
  const store = new CustomDnsStore(options.zones, primaryHostname, options.records ?? []);
  const renderer = new ZoneRenderer(store, nameservers, options.publicIp ?? '127.0.0.1', now());
  const distributor = new ZoneDistributor(options.dns?.primary, options.dns?.secondary);
  const daemon = new Daemon(auth, store, renderer, distributor, options.secondaryNameservers ?? [], options.flavor ?? 'upstream');
  await distributor.publishInitial(daemon.zones());

  const log: RequestLogEntry[] = [];
  const faults = new FaultQueue();
  const worker = new SerialQueue();
  const stopping = new AbortController();

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Uint8Array, not Buffer: with @types/node 20.9 and TS 5.9 a Buffer[] is not a Uint8Array[].
    const chunks: Uint8Array[] = [];
    for await (const chunk of req) chunks.push(chunk as Uint8Array);
    const body = Buffer.concat(chunks);
    const arrived = now();
    const method = (req.method ?? 'GET').toUpperCase();
    const target = req.url ?? '/';
    const daemonPath = daemonPathOf(target, basePath);
    const fault: Fault | undefined = faults.take(method, target, daemonPath ?? '');
    const record = (status: number, authKind: AuthKind): void => {
      log.push({
        method,
        path: target,
        authKind,
        body: body.toString('utf8'),
        status,
        time: arrived,
        ...(fault ? { fault } : {}),
      });
    };

    if (fault && !appliesChange(fault)) {
      // nginx answers (or the connection dies) without the daemon ever seeing the request.
      await sleep('delayMs' in fault ? (fault.delayMs ?? 0) : 0, stopping.signal);
      const kind = auth.peekKind(headerValue(req, 'authorization'));
      if (isResetFault(fault)) {
        req.socket.destroy();
        record(0, kind);
        return;
      }
      const status = isStatusFault(fault) ? fault.status : 502;
      const page = faultPage(status);
      send(res, status, page.headers, isStatusFault(fault) && fault.body !== undefined ? fault.body : page.body);
      record(status, kind);
      return;
    }

    const reply: Reply = await worker.run(async () => {
      if (fault?.delayMs) await sleep(fault.delayMs, stopping.signal);
      if (daemonPath === null) {
        const kind = auth.peekKind(headerValue(req, 'authorization'));
        return { status: 404, headers: { 'Content-Type': 'text/html' }, body: nginxErrorPage(404), authKind: kind };
      }
      const clientForwarded = headerValue(req, 'x-forwarded-for');
      const remote = req.socket.remoteAddress ?? '127.0.0.1';
      return daemon.handle({
        method,
        path: daemonPath,
        headers: req.headers,
        body,
        // nginx's $proxy_add_x_forwarded_for; without nginx only what the client sent.
        forwardedFor: basePath === '' ? clientForwarded : clientForwarded ? `${clientForwarded}, ${remote}` : remote,
      });
    });

    if (fault && isResetFault(fault)) {
      req.socket.destroy();
      record(0, reply.authKind);
      return;
    }
    if (fault && isStatusFault(fault)) {
      const page = faultPage(fault.status);
      send(res, fault.status, page.headers, fault.body ?? page.body);
      record(fault.status, reply.authKind);
      return;
    }
    send(res, reply.status, reply.headers, reply.body);
    record(reply.status, reply.authKind);
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    serve(req, res).catch((error: unknown) => {
      console.error('[miab-emulator] request failed:', error);
      if (!res.headersSent) send(res, 500, { 'Content-Type': 'text/html; charset=utf-8' }, FLASK_INTERNAL_ERROR);
    });
  };
  const server: Server = options.tls
    ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest)
    : createHttpServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let stopped: Promise<void> | undefined;
  const emulator: MiabEmulator = {
    url: origin + basePath,
    origin,
    host,
    port,
    basePath,
    get systemKey() {
      return auth.systemKey;
    },
    get failedLogins() {
      return daemon.failedLogins;
    },
    get loggedFailedLogins() {
      return daemon.loggedFailedLogins;
    },
    get liveSessions() {
      return auth.liveSessions;
    },
    requests: log,
    clearLog() {
      log.length = 0;
      daemon.resetCounters();
    },
    records: () => store.all(),
    addRecord: (record) => daemon.addDirectly(record),
    zones: () => daemon.zones(),
    injectFaults: (list) => faults.add(list),
    pendingFaults: () => faults.pending(),
    setSecondaryLag: (ms) => distributor.setLag(ms),
    secondaryIdle: () => distributor.idle(),
    secondaryErrors: distributor.secondaryErrors,
    restart: () => auth.start(),
    updateUser: (email, patch) => auth.updateUser(email, patch),
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        stopping.abort();
        distributor.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
  return emulator;
}
