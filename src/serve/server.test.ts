/**
 * The serve HTTP server in-process on the in-memory record store: the limits that need short
 * timeouts (slow headers, slow body), a chunked body over 4 KiB, the bounded wait (answered
 * anyway, and the audit line says so), and graceful close cutting a wait short.
 */
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ChallengeEngine, type RecordsWaiter } from '../challenge/engine.js';
import { Journal } from '../records/journal.js';
import { MemoryRecordStore } from '../records/memory-store.js';
import type { Logger } from '../util/log.js';
import type { AuditEntry } from './audit.js';
import { ClientRegistry, type NewClientCredentials } from './registry.js';
import { startServe, type ServeInstance } from './server.js';
import { scratchDir } from '../../test/fixtures/scratch.js';

let stateDir: string;
let store: MemoryRecordStore;
let audit: AuditEntry[];
let warnings: string[];
let instance: ServeInstance | undefined;
let client: NewClientCredentials;
/** What the engine's propagation wait does; default: served at once. */
let waiter: RecordsWaiter;

const log: Logger = { info: () => undefined, debug: () => undefined, warn: (message) => void warnings.push(message) };

beforeEach(async () => {
  stateDir = await scratchDir('serve-unit');
  store = new MemoryRecordStore(['example.test']);
  audit = [];
  warnings = [];
  waiter = async () => undefined;
  client = await new ClientRegistry(stateDir).add({ name: 'unit', domains: ['a.example.test'], allowFrom: [], serverUrl: '' });
});

afterEach(async () => {
  await instance?.close(1_000);
  instance = undefined;
  await rm(stateDir, { recursive: true, force: true });
});

async function start(options: { headersTimeoutMs?: number; requestTimeoutMs?: number; waitLimitMs?: number } = {}): Promise<ServeInstance> {
  const engine = new ChallengeEngine({ store, journal: new Journal(stateDir), apiUrl: 'memory', waitForRecords: (records, signal) => waiter(records, signal), log });
  instance = await startServe({
    host: '127.0.0.1',
    port: 0,
    trustProxy: [],
    expireAfterMs: 3_600_000,
    waitLimitMs: options.waitLimitMs ?? 25_000,
    stateDir,
    engine,
    log,
    audit: { write: (entry) => void audit.push(entry), close: async () => undefined },
    headersTimeoutMs: options.headersTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs,
  });
  return instance;
}

function post(url: string, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${client.username}:${client.password}`).toString('base64')}` } }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens a raw connection, sends `text`, and resolves with what came back when it closed. */
function raw(url: string, text: string): Promise<{ answer: string; ms: number }> {
  const { port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('close', () => resolve({ answer, ms: Date.now() - started }));
    socket.on('error', () => undefined);
  });
}

it('cuts off a client that sends its headers too slowly', async () => {
  const { url } = await start({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
  const { answer, ms } = await raw(url, 'POST /present HTTP/1.1\r\nHost: x\r\n');
  expect(ms).toBeLessThan(5_000);
  expect(answer === '' || answer.startsWith('HTTP/1.1 408')).toBe(true);
});

it('cuts off a client that sends its body too slowly', async () => {
  const { url } = await start({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
  const { ms } = await raw(url, 'POST /present HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"fq');
  expect(ms).toBeLessThan(5_000);
  expect(await store.txtValues('_acme-challenge.a.example.test')).toEqual([]);
});

it('refuses a chunked body over 4 KiB with 413', async () => {
  const { url } = await start();
  const chunk = 'x'.repeat(5000);
  const { answer } = await raw(url, `POST /present HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`);
  expect(answer).toMatch(/^HTTP\/1\.1 413/);
  expect(audit).toContainEqual(expect.objectContaining({ status: 413, action: 'present' }));
});

it('answers 200 when the wait limit is reached, logs it, and keeps the record', async () => {
  waiter = (_records, signal) => new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
  const { url } = await start({ waitLimitMs: 500 });
  const value = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
  const started = Date.now();
  const answer = await post(url, '/present', JSON.stringify({ fqdn: '_acme-challenge.a.example.test.', value }));
  expect(answer.status).toBe(200);
  expect(Date.now() - started).toBeLessThan(3_000);
  expect(await store.txtValues('_acme-challenge.a.example.test')).toEqual([value]);
  expect(warnings.join('\n')).toContain('before every authoritative nameserver served it');
  expect(audit).toContainEqual(expect.objectContaining({ client: 'unit', action: 'present', status: 200, note: 'wait_limit' }));
});

it('close() ends waits in time to answer requests in flight', async () => {
  waiter = (_records, signal) => new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
  const served = await start();
  const pending = post(served.url, '/present', JSON.stringify({ fqdn: '_acme-challenge.a.example.test.', value: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG' }));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const closing = served.close(3_000);
  const answer = await pending;
  await closing;
  instance = undefined;
  expect(answer.status).toBe(200);
});
