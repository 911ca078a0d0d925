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
import type { AuditAction, AuditSink } from './audit.js';
import { AddressRanges, sourceAddress } from './cidr.js';
import { abuseResult, handleNicUpdate, isDyndnsResult, sendText, serverFaultResult } from './dyndns.js';
import { BodyTooLarge, readBody, sendJson, type HandlerResult } from './http.js';
import { handleHttpreq, handleScope } from './httpreq.js';
import { Lockout, type LockoutOptions } from './lockout.js';
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
}

export interface ServeInstance {
  /** `http://host:port` or `https://host:port`. */
  readonly url: string;
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
  const { log, audit } = options;
  const trusted = new AddressRanges(options.trustProxy);
  const registry = new ClientRegistry(options.stateDir);
  await registry.list();
  const writer = new ChallengeWriter({ engine: options.engine, waitLimitMs: options.waitLimitMs, log });
  const acmeDns = new AcmeDnsService({ stateDir: options.stateDir, registry, writer, audit, log, expireAfterMs: options.expireAfterMs });
  await acmeDns.start();
  const lockout = new Lockout(options.lockout);
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
      return { action, ...(await handleScope(request, ip, { registry, writer, log })) };
    }
    const body = await readBody(request);
    if (target === 'register') {
      return { action, status: 403, body: { error: 'registration is closed: credentials come only from "miab-dns01 clients add" on the serve machine' }, client: null, name: null };
    }
    if (target === 'update') return { action, ...(await acmeDns.update(request, body, ip)) };
    if (target === 'nic-update') {
      return { action, ...(await handleNicUpdate(request, new URL(request.url ?? '/', 'http://serve.invalid'), body, ip, { registry, writer, addresses: options.addresses, log })) };
    }
    return { action, ...(await handleHttpreq(target, request, body, ip, { registry, writer, log })) };
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
    if (result.status === 401) lockout.fail(ip);
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
  const serverOptions = { headersTimeout: options.headersTimeoutMs ?? 10_000, requestTimeout: options.requestTimeoutMs ?? 20_000, connectionsCheckingInterval: 1_000 };
  const server: Server = options.tls
    ? createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, listener)
    : createHttpServer(serverOptions, listener);
  server.keepAliveTimeout = 5_000;
  // Many idle or slow sockets must not exhaust file descriptors: an ACME run needs a handful.
  server.maxConnections = 1_000;
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
      await registry.flushLastUse().catch(() => undefined);
    },
  };
}
