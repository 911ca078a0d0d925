/**
 * The `serve` HTTP(S) server: routes the acme-dns and httpreq endpoints, applies the abuse
 * limits before any handler runs (lockout, body size, slow-client timeouts), writes one audit
 * line per request, and shuts down gracefully (stop accepting, finish what is in flight).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ChallengeEngine } from '../challenge/engine.js';
import type { Logger } from '../util/log.js';
import type { AddressRecordStore } from '../providers/provider.js';
import { AcmeDnsService } from './acme-dns.js';
import { aggregateUnauthenticated, type AuditAction, type AuditSink } from './audit.js';
import { AuthGate } from './auth-gate.js';
import { ConnectionGuard } from './connection-guard.js';
import { InFlightLimit } from './fair-queue.js';
import { AddressRanges, sourceAddress } from './cidr.js';
import { abuseResult, handleNicUpdate, isDyndnsResult, sendText, serverFaultResult } from './dyndns.js';
import { BodyTooLarge, readBody, sendJson, type HandlerResult } from './http.js';
import { handleHttpreq, handleScope } from './httpreq.js';
import { Lockout, type LockoutOptions } from './lockout.js';
import { WriteOwnership } from './ownership.js';
import { ClientRegistry } from './registry.js';
import { ChallengeWriter } from './writer.js';

export interface ServeOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** PEM certificate chain and key: serve HTTPS. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Peers whose `X-Forwarded-For` is believed. */
  readonly trustProxy: readonly string[];
  /** acme-dns values are removed this long after their write. */
  readonly expireAfterMs: number;
  /** Longest authoritative wait before answering a write anyway. */
  readonly waitLimitMs: number;
  readonly stateDir: string;
  readonly engine: ChallengeEngine;
  readonly log: Logger;
  readonly audit: AuditSink;
  /** @default 10_000 */
  readonly headersTimeoutMs?: number;
  /** Whole request (headers and body) must arrive within this. @default 20_000 */
  readonly requestTimeoutMs?: number;
  readonly lockout?: LockoutOptions;
  /** The provider's A/AAAA store for dyndns2 (`/nic/update`); undefined: the host has none. */
  readonly addresses?: AddressRecordStore;
  /** Shared with the other front-ends (RFC 2136, dyndns); default: one persisted in `stateDir`. */
  readonly ownership?: WriteOwnership;
  readonly limits?: ServeLimits;
}

/** The bounds on what one peer or one client can make serve do (docs/serve-security.md). */
export interface ServeLimits {
  /** Open connections overall. @default 1000 */
  readonly maxConnections?: number;
  /** Open connections from one address (IPv6: one prefix); `--trust-proxy` peers are exempt. @default 32 */
  readonly maxConnectionsPerAddress?: number;
  /** Slow password hashes in flight for new addresses (and as many for known ones). @default 2 x UV_THREADPOOL_SIZE */
  readonly maxPendingVerifications?: number;
  /** Writes in flight per client. @default 10 */
  readonly maxWritesPerClient?: number;
  /** Live values one client may hold at one name (httpreq; acme-dns keeps two slots). @default 10 */
  readonly maxValuesPerName?: number;
  /** IPv6 addresses are counted by this prefix length. @default 64 */
  readonly ipv6Prefix?: number;
  /** Addresses tracked by the lockout (failures and blocks each) and the audit aggregation. @default 100_000 */
  readonly maxTrackedAddresses?: number;
}

export const DEFAULT_LIMITS = {
  maxConnections: 1_000,
  maxConnectionsPerAddress: 32,
  maxWritesPerClient: 10,
  maxValuesPerName: 10,
  ipv6Prefix: 64,
  maxTrackedAddresses: 100_000,
} as const;

/** The shared bounds, for the front-ends that run beside the HTTP server (RFC 2136, dyndns). */
export interface ServeGuards {
  readonly lockout: Lockout;
  readonly gate: AuthGate;
  readonly ownership: WriteOwnership;
  readonly connections: ConnectionGuard;
  readonly writes: InFlightLimit;
  readonly writer: ChallengeWriter;
  readonly registry: ClientRegistry;
  readonly audit: AuditSink;
}

export interface ServeInstance {
  /** `http://host:port` or `https://host:port`. */
  readonly url: string;
  readonly guards: ServeGuards;
  /** Stops accepting, lets requests in flight finish (at most `graceMs`), then closes. */
  close(graceMs?: number): Promise<void>;
}

function actionOf(method: string, path: string): { action: AuditAction; route: 'health' | 'scope' | 'register' | 'update' | 'present' | 'cleanup' | 'nic-update' | undefined } {
  // Before the acme-dns `update` below, which matches any path ending in /update.
  if ((method === 'GET' || method === 'POST') && /(^|\/)nic\/update\/*$/.test(path)) return { action: 'nic-update', route: 'nic-update' };
  const last = path.replace(/\/+$/, '').split('/').pop() ?? '';
  if (method === 'GET' && last === 'health') return { action: 'health', route: 'health' };
  if (method === 'GET' && last === 'scope') return { action: 'scope', route: 'scope' };
  if (method === 'POST' && (last === 'register' || last === 'update' || last === 'present' || last === 'cleanup')) return { action: last, route: last };
  return { action: 'unknown', route: undefined };
}

export async function startServe(options: ServeOptions): Promise<ServeInstance> {
  const { log } = options;
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const trusted = new AddressRanges(options.trustProxy);
  const registry = new ClientRegistry(options.stateDir);
  await registry.list();
  const lockout = new Lockout({ maxTracked: limits.maxTrackedAddresses, ipv6Prefix: limits.ipv6Prefix, ...options.lockout });
  const audit = aggregateUnauthenticated(options.audit, { maxAddresses: limits.maxTrackedAddresses, keyOf: (address) => lockout.keyOf(address) });
  const writer = new ChallengeWriter({ engine: options.engine, waitLimitMs: options.waitLimitMs, log });
  const ownership = options.ownership ?? new WriteOwnership(options.stateDir);
  if (options.ownership === undefined) await ownership.load();
  const gate = new AuthGate(registry, lockout, { ...(limits.maxPendingVerifications === undefined ? {} : { maxPendingVerifications: limits.maxPendingVerifications }) });
  const writes = new InFlightLimit(limits.maxWritesPerClient);
  const connections = new ConnectionGuard({ maxPerAddress: limits.maxConnectionsPerAddress, ipv6Prefix: limits.ipv6Prefix, exempt: trusted });
  const acmeDns = new AcmeDnsService({ stateDir: options.stateDir, registry, writer, audit, log, expireAfterMs: options.expireAfterMs, ownership, gate, writes });
  await acmeDns.start();
  // Expired failures and blocks go even when no request comes to trigger the lazy sweep.
  const sweeper = setInterval(() => lockout.sweep(), 60_000);
  sweeper.unref();
  const handlerOptions = { registry, writer, log, ownership, gate, writes, maxValuesPerName: limits.maxValuesPerName, staleAfterMs: options.expireAfterMs };
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const route = async (request: IncomingMessage, ip: string, path: string): Promise<HandlerResult & { action: AuditAction }> => {
    const method = request.method ?? 'GET';
    const { action, route: target } = actionOf(method, path);
    const blockedFor = lockout.blockedFor(ip);
    if (blockedFor > 0) {
      request.resume();
      if (target === 'nic-update') return { action, ...abuseResult(Math.ceil(blockedFor / 1000)) };
      return { action, status: 429, body: { error: 'too_many_failed_authentications' }, client: null, name: null, headers: { 'retry-after': String(Math.ceil(blockedFor / 1000)) } };
    }
    if (target === undefined) {
      request.resume();
      return { action, status: 404, body: { error: 'not_found' }, client: null, name: null };
    }
    if (target === 'health') return { action, status: 200, body: { status: 'ok' }, client: null, name: null };
    if (target === 'scope') {
      request.resume();
      return { action, ...(await handleScope(request, ip, handlerOptions)) };
    }
    const body = await readBody(request);
    if (target === 'register') {
      return { action, status: 403, body: { error: 'registration is closed: credentials come only from "miab-dns01 clients add" on the serve machine' }, client: null, name: null };
    }
    if (target === 'update') return { action, ...(await acmeDns.update(request, body, ip)) };
    if (target === 'nic-update') {
      return { action, ...(await handleNicUpdate(request, new URL(request.url ?? '/', 'http://serve.invalid'), body, ip, { ...handlerOptions, addresses: options.addresses })) };
    }
    return { action, ...(await handleHttpreq(target, request, body, ip, handlerOptions)) };
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    inFlight++;
    const started = Date.now();
    const forwarded = request.headers['x-forwarded-for'];
    const ip = sourceAddress(request.socket.remoteAddress ?? '', Array.isArray(forwarded) ? forwarded.join(',') : forwarded, trusted);
    let path = '/';
    try {
      path = new URL(request.url ?? '/', 'http://serve.invalid').pathname;
    } catch {
      // keep '/': answered 404
    }
    let result: HandlerResult & { action: AuditAction };
    try {
      result = await route(request, ip, path);
    } catch (error) {
      const tooLarge = error instanceof BodyTooLarge;
      if (!tooLarge) log.warn(`request ${request.method ?? ''} ${path} failed: ${error instanceof Error ? error.message : String(error)}`);
      const { action } = actionOf(request.method ?? 'GET', path);
      result =
        action === 'nic-update'
          ? { action, ...serverFaultResult(tooLarge ? 413 : 200) }
          : { action, status: tooLarge ? 413 : 500, body: { error: tooLarge ? 'body_too_large' : 'internal_error' }, client: null, name: null, note: tooLarge ? 'body_too_large' : undefined };
    }
    // A verified wrong password was counted by its reservation; the other 401s count here.
    if (result.status === 401 && result.note !== 'bad_credentials') lockout.fail(ip);
    try {
      const headers = { ...result.headers, ...(closing || result.status === 413 ? { connection: 'close' } : {}) };
      if (!response.destroyed) {
        if (isDyndnsResult(result)) sendText(response, result.status, result.text, headers);
        else sendJson(response, result.status, result.body, headers);
      }
    } finally {
      audit.write({ client: result.client, ip, action: result.action, name: result.name, status: result.status, ...(result.note ? { note: result.note } : {}), durationMs: Date.now() - started });
      inFlight--;
      if (closing && inFlight === 0) drained?.();
    }
  };

  const listener = (request: IncomingMessage, response: ServerResponse): void => void handle(request, response);
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const serverOptions = { headersTimeout, requestTimeout: options.requestTimeoutMs ?? 20_000, connectionsCheckingInterval: 1_000 };
  // A socket that never sends its ClientHello is dropped as soon as one that never sends its headers.
  const server: Server = options.tls
    ? createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key, handshakeTimeout: headersTimeout }, listener)
    : createHttpServer(serverOptions, listener);
  server.keepAliveTimeout = 5_000;
  // Many idle or slow sockets must not exhaust file descriptors: an ACME run needs a handful,
  // and one address gets only its share of them.
  server.maxConnections = limits.maxConnections;
  connections.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${options.tls ? 'https' : 'http'}://${host}:${address.port}`;

  return {
    url,
    guards: { lockout, gate, ownership, connections, writes, writer, registry, audit },
    async close(graceMs = 9_000) {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Waits end early enough that every request in flight is still answered within the grace.
      const stopWaits = setTimeout(() => writer.stopWaiting(), Math.max(0, graceMs - 2_000));
      const done = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (drained = resolve));
      let force: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise<void>((resolve) => (force = setTimeout(resolve, graceMs)))]);
      clearTimeout(stopWaits);
      if (force) clearTimeout(force);
      server.closeAllConnections();
      await closed;
      await acmeDns.stop();
      clearInterval(sweeper);
      audit.stop();
      await registry.flushLastUse().catch(() => undefined);
    },
  };
}
