/**
 * The serve HTTP server in-process on the in-memory record store, for the bounds suites:
 * clients added straight into the registry, requests from a chosen loopback source address,
 * the audit lines collected in memory. Tests choose the limits through `options`.
 */
import { rm } from 'node:fs/promises';
import { request, type OutgoingHttpHeaders } from 'node:http';
import { ChallengeEngine, type RecordsWaiter } from '../../src/challenge/engine.js';
import { Journal } from '../../src/records/journal.js';
import { MemoryRecordStore } from '../../src/records/memory-store.js';
import type { Logger } from '../../src/util/log.js';
import type { AuditEntry } from '../../src/serve/audit.js';
import { ClientRegistry, type NewClientCredentials } from '../../src/serve/registry.js';
import { startServe, type ServeInstance, type ServeOptions } from '../../src/serve/server.js';
import { scratchDir } from '../fixtures/scratch.js';

export interface Harness {
  readonly stateDir: string;
  readonly store: MemoryRecordStore;
  readonly audit: AuditEntry[];
  readonly warnings: string[];
  instance: ServeInstance | undefined;
  /** The engine's propagation wait; default: served at once. */
  waiter: RecordsWaiter;
  addClient(name: string, domains: readonly string[]): Promise<NewClientCredentials>;
  start(options?: Partial<ServeOptions>): Promise<ServeInstance>;
  /** Closes the server (if any) and removes the state dir. */
  dispose(): Promise<void>;
}

export async function harness(zones: readonly string[] = ['example.test']): Promise<Harness> {
  const stateDir = await scratchDir('serve-bounds');
  const store = new MemoryRecordStore(zones);
  const registry = new ClientRegistry(stateDir);
  const log: Logger = { info: () => undefined, debug: () => undefined, warn: (message) => void self.warnings.push(message) };
  const self: Harness = {
    stateDir,
    store,
    audit: [],
    warnings: [],
    instance: undefined,
    waiter: async () => undefined,
    addClient: (name, domains) => registry.add({ name, domains, allowFrom: [], serverUrl: '' }),
    async start(options = {}) {
      const engine = new ChallengeEngine({ store, journal: new Journal(stateDir), apiUrl: 'memory', waitForRecords: (records, signal) => self.waiter(records, signal), log });
      self.instance = await startServe({
        host: '127.0.0.1',
        port: 0,
        trustProxy: [],
        expireAfterMs: 3_600_000,
        waitLimitMs: 25_000,
        stateDir,
        engine,
        log,
        audit: { write: (entry) => void self.audit.push(entry), close: async () => undefined },
        ...options,
      });
      return self.instance;
    },
    async dispose() {
      await self.instance?.close(1_000);
      self.instance = undefined;
      await rm(stateDir, { recursive: true, force: true });
    },
  };
  return self;
}

export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** One request on its own connection from `from` (a loopback address). */
export function call(url: string, options: { method?: string; path: string; headers?: OutgoingHttpHeaders; body?: string; from?: string }): Promise<Answer> {
  const target = new URL(options.path, url);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: options.method ?? 'POST', headers: options.headers, localAddress: options.from ?? '127.0.0.1', agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export function basicAuth(client: { username: string; password: string }): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${client.username}:${client.password}`).toString('base64')}` };
}

export function httpreq(url: string, action: 'present' | 'cleanup', client: { username: string; password: string }, fqdn: string, value: string, from?: string): Promise<Answer> {
  return call(url, { path: `/${action}`, headers: basicAuth(client), body: JSON.stringify({ fqdn, value }), from });
}

export function acmeDnsUpdate(url: string, client: NewClientCredentials, domain: string, txt: string, from?: string): Promise<Answer> {
  const account = client.acme_dns[domain];
  if (account === undefined) throw new Error(`client ${client.name} has no domain ${domain}`);
  return call(url, { path: '/update', headers: { 'x-api-user': account.username, 'x-api-key': account.password }, body: JSON.stringify({ subdomain: account.subdomain, txt }), from });
}

/** A fresh ACME-digest-shaped value (43 base64url characters). */
export function digest(): string {
  return Buffer.from(Array.from({ length: 32 }, () => Math.floor(Math.random() * 256))).toString('base64url');
}
