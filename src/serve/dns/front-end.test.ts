/**
 * The RFC 2136 front-end in-process on the in-memory store, for what needs short timers: a TCP
 * UPDATE whose nameserver wait outlasts the idle timeout is still answered (idle means no
 * message in flight), an idle connection is closed, the per-source answer limit, and close()
 * letting an UPDATE in flight finish.
 */
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ChallengeEngine } from '../../challenge/engine.js';
import { Journal } from '../../records/journal.js';
import { MemoryRecordStore } from '../../records/memory-store.js';
import { scratchDir } from '../../../test/fixtures/scratch.js';
import { keyOf, queryMessage, sign, tcpExchange, txtRecord, udpExchange, updateMessage } from '../../../test/serve/rfc2136-helpers.js';
import type { Logger } from '../../util/log.js';
import { InFlightLimit } from '../fair-queue.js';
import { Lockout } from '../lockout.js';
import { WriteOwnership } from '../ownership.js';
import { ClientRegistry, type NewClientCredentials } from '../registry.js';
import { ChallengeWriter } from '../writer.js';
import { startDnsFrontEnd, type DnsFrontEnd } from './front-end.js';
import { CLASS, RCODE, TYPE } from './wire.js';

const NAME = '_acme-challenge.a.example.test';
const log: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };
let stateDir: string;
let store: MemoryRecordStore;
let added: NewClientCredentials;
let frontEnd: DnsFrontEnd | undefined;
let waitMs: number;
let registry: ClientRegistry;

beforeEach(async () => {
  stateDir = await scratchDir('rfc2136-front-end');
  store = new MemoryRecordStore(['example.test']);
  waitMs = 0;
  registry = new ClientRegistry(stateDir);
  added = await registry.add({ name: 'web1', domains: ['a.example.test'], allowFrom: [], serverUrl: '', tsigAlgorithm: 'hmac-sha256' });
});

afterEach(async () => {
  await frontEnd?.close(1_000);
  frontEnd = undefined;
  // serve's close() flushes last use; here the registry is the test's.
  await registry.flushLastUse();
  await rm(stateDir, { recursive: true, force: true });
});

async function start(options: { tcpIdleMs?: number; answersPerSecond?: number; maxConnectionsPerAddress?: number } = {}): Promise<DnsFrontEnd> {
  const engine = new ChallengeEngine({ store, journal: new Journal(stateDir), apiUrl: 'memory', waitForRecords: () => new Promise((resolve) => setTimeout(resolve, waitMs)), log, ownerPid: process.pid });
  frontEnd = await startDnsFrontEnd({
    host: '127.0.0.1',
    port: 0,
    registry,
    lockout: new Lockout(),
    audit: { write: () => undefined, close: async () => undefined },
    writer: new ChallengeWriter({ engine, waitLimitMs: 10_000, log }),
    ownership: new WriteOwnership(undefined),
    writes: new InFlightLimit(10),
    maxValuesPerName: 10,
    records: store,
    log,
    tcpWaitLimitMs: 10_000,
    ...options,
  });
  return frontEnd;
}

function value(seed: number): string {
  return Buffer.alloc(32, seed).toString('base64url');
}

function signedUpdate(seed: number): { message: Buffer; mac: Buffer } {
  if (added.tsig === undefined) throw new Error('no key');
  return sign(updateMessage('example.test', [txtRecord(NAME, CLASS.IN, 120, value(seed))]), keyOf(added.tsig));
}

it('answers a TCP UPDATE whose nameserver wait outlasts the idle timeout', async () => {
  const { port } = await start({ tcpIdleMs: 300 });
  waitMs = 1_000;
  const { message, mac } = signedUpdate(1);
  const reply = await tcpExchange(port, message, { key: keyOf(added.tsig!), requestMac: mac, timeoutMs: 5_000 });
  expect(reply.rcode).toBe(RCODE.NOERROR);
  expect(reply.signedOk).toBe(true);
  expect(await store.txtValues(NAME)).toEqual([value(1)]);
});

it('closes a TCP connection that sends nothing for the idle timeout', async () => {
  const { port } = await start({ tcpIdleMs: 300 });
  const closedAfter = await new Promise<number>((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('close', () => resolve(Date.now() - started));
    socket.on('error', reject);
    setTimeout(() => reject(new Error('not closed')), 5_000).unref();
  });
  expect(closedAfter).toBeLessThan(5_000);
});

it('drops answers to one source past its rate; another source is answered', async () => {
  const { port } = await start({ answersPerSecond: 5 });
  const results = await Promise.allSettled(Array.from({ length: 30 }, () => udpExchange(port, queryMessage('example.test', TYPE.SOA), { timeoutMs: 1_000 })));
  const answered = results.filter((result) => result.status === 'fulfilled').length;
  expect(answered).toBeGreaterThanOrEqual(5);
  expect(answered).toBeLessThan(30);
  expect((await udpExchange(port, queryMessage('example.test', TYPE.SOA), { from: '127.0.0.2' })).rcode).toBe(RCODE.NOERROR);
});

it('close() lets an UPDATE in flight finish and answer', async () => {
  const { port } = await start();
  waitMs = 500;
  const { message, mac } = signedUpdate(2);
  const pending = udpExchange(port, message, { key: keyOf(added.tsig!), requestMac: mac, timeoutMs: 5_000 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const closing = frontEnd!.close(3_000);
  const reply = await pending;
  await closing;
  frontEnd = undefined;
  expect(reply.rcode).toBe(RCODE.NOERROR);
});

it('refuses TCP connections past the per-address limit; another address still connects', async () => {
  const { port } = await start({ maxConnectionsPerAddress: 2 });
  const open = (from: string): Promise<{ closedEarly: boolean; socket: ReturnType<typeof connect> }> =>
    new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress: from });
      let settled = false;
      socket.on('close', () => {
        if (!settled) resolve({ closedEarly: true, socket });
        settled = true;
      });
      socket.on('error', () => undefined);
      setTimeout(() => {
        if (!settled) resolve({ closedEarly: false, socket });
        settled = true;
      }, 300);
    });
  const results = [await open('127.0.0.1'), await open('127.0.0.1'), await open('127.0.0.1'), await open('127.0.0.2')];
  expect(results.map((result) => result.closedEarly)).toEqual([false, false, true, false]);
  for (const { socket } of results) socket.destroy();
});
