/**
 * The UPDATE logic on the in-memory store: how the update section replays over the values a
 * client owns (lego's "delete RRset, then add"), CNAME targets, the undo of a half-done UPDATE
 * when the box fails, shared values between two clients, the values-per-name bound; and the
 * retransmit cache's bound.
 */
import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChallengeEngine } from '../../challenge/engine.js';
import { Journal } from '../../records/journal.js';
import { MemoryRecordStore } from '../../records/memory-store.js';
import { scratchDir } from '../../../test/fixtures/scratch.js';
import type { Logger } from '../../util/log.js';
import { InFlightLimit } from '../fair-queue.js';
import { WriteOwnership } from '../ownership.js';
import type { ServeClient } from '../registry.js';
import { ChallengeWriter } from '../writer.js';
import { RetransmitCache } from './retransmit-cache.js';
import { UpdateHandler } from './update.js';
import { CLASS, RCODE, concat, encodeName, parseMessage, type WireMessage } from './wire.js';

const NAME = '_acme-challenge.a.example.test';
const PARTNER = 'partner value';
const log: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };
let stateDir: string;
let store: MemoryRecordStore;
let handler: UpdateHandler;

function client(name: string, domains: readonly string[] = ['a.example.test']): ServeClient {
  return { name, username: name, passwordHash: '', domains, allowFrom: [], subdomains: {}, createdAt: '' };
}

function value(seed: string): string {
  return Buffer.from(seed.padEnd(32, '.')).toString('base64url').slice(0, 43);
}

function txt(name: string, klass: number, data?: string): Buffer {
  const rdata = data === undefined ? Buffer.alloc(0) : concat([Buffer.from([data.length]), Buffer.from(data)]);
  const head = Buffer.alloc(10);
  head.writeUInt16BE(16, 0);
  head.writeUInt16BE(klass, 2);
  head.writeUInt32BE(klass === CLASS.IN ? 120 : 0, 4);
  head.writeUInt16BE(rdata.length, 8);
  return concat([encodeName(name), head, rdata]);
}

function update(zone: string, records: readonly Buffer[]): WireMessage {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(5 << 11, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 8);
  return parseMessage(concat([header, encodeName(zone), Buffer.from([0, 6, 0, 1]), ...records]));
}

beforeEach(async () => {
  stateDir = await scratchDir('rfc2136-update');
  store = new MemoryRecordStore(['example.test', 'other.test'], { '_acme-challenge.c.example.test': 'c.other.test' });
  await store.appendTxt(NAME, PARTNER);
  const engine = new ChallengeEngine({ store, journal: new Journal(stateDir), apiUrl: 'memory', waitForRecords: async () => undefined, log, ownerPid: process.pid });
  handler = new UpdateHandler({ writer: new ChallengeWriter({ engine, waitLimitMs: 1_000, log }), ownership: new WriteOwnership(undefined), writes: new InFlightLimit(10), maxValuesPerName: 3, records: store, log });
});

afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe('UpdateHandler', () => {
  it("lego's delete-RRset-then-add replaces only the client's own value; the partner value stays", async () => {
    const web1 = client('web1');
    expect((await handler.handle(update('example.test', [txt(NAME, CLASS.IN, value('first'))]), web1)).rcode).toBe(RCODE.NOERROR);
    const second = await handler.handle(update('example.test', [txt(NAME, CLASS.ANY), txt(NAME, CLASS.IN, value('second'))]), web1);
    expect(second.rcode).toBe(RCODE.NOERROR);
    expect(second.added.map((record) => record.value)).toEqual([value('second')]);
    expect((await store.txtValues(NAME)).sort()).toEqual([PARTNER, value('second')].sort());
  });

  it('adding and deleting the same value in one message writes nothing', async () => {
    const result = await handler.handle(update('example.test', [txt(NAME, CLASS.IN, value('x')), txt(NAME, CLASS.NONE, value('x'))]), client('web1'));
    expect(result).toMatchObject({ rcode: RCODE.NOERROR, added: [] });
    expect(await store.txtValues(NAME)).toEqual([PARTNER]);
  });

  it('a CNAME target in another box zone is in scope (lego follows CNAMEs); the update goes to that zone', async () => {
    const web3 = client('web3', ['c.example.test']);
    const result = await handler.handle(update('other.test', [txt('c.other.test', CLASS.IN, value('c'))]), web3);
    expect(result.rcode).toBe(RCODE.NOERROR);
    expect(await store.txtValues('c.other.test')).toEqual([value('c')]);
  });

  it('when the box fails the second write, the first is taken back: all or nothing (SERVFAIL)', async () => {
    const web1 = client('web1', ['a.example.test', 'b.example.test']);
    const original = store.appendTxt.bind(store);
    let calls = 0;
    store.appendTxt = async (name, data) => {
      if (++calls === 2) throw new Error('box down');
      return original(name, data);
    };
    const result = await handler.handle(update('example.test', [txt(NAME, CLASS.IN, value('a')), txt('_acme-challenge.b.example.test', CLASS.IN, value('b'))]), web1);
    expect(result.rcode).toBe(RCODE.SERVFAIL);
    expect(await store.txtValues(NAME)).toEqual([PARTNER]);
    expect(await store.txtValues('_acme-challenge.b.example.test')).toEqual([]);
  });

  it('a value two clients wrote stays on the box until both delete it', async () => {
    const shared = value('shared');
    await handler.handle(update('example.test', [txt(NAME, CLASS.IN, shared)]), client('web1'));
    await handler.handle(update('example.test', [txt(NAME, CLASS.IN, shared)]), client('web2'));
    await handler.handle(update('example.test', [txt(NAME, CLASS.ANY)]), client('web1'));
    expect((await store.txtValues(NAME)).sort()).toEqual([PARTNER, shared].sort());
    await handler.handle(update('example.test', [txt(NAME, CLASS.NONE, shared)]), client('web2'));
    expect(await store.txtValues(NAME)).toEqual([PARTNER]);
  });

  it('more live values at one name than allowed refuses the message, nothing written', async () => {
    const result = await handler.handle(update('example.test', ['1', '2', '3', '4'].map((seed) => txt(NAME, CLASS.IN, value(seed)))), client('web1'));
    expect(result).toMatchObject({ rcode: RCODE.REFUSED, note: 'values_per_name' });
    expect(await store.txtValues(NAME)).toEqual([PARTNER]);
  });
});

describe('RetransmitCache', () => {
  it('computes once per key, and stays within its bound under a flood of distinct keys', async () => {
    const cache = new RetransmitCache({ maxEntries: 100 });
    let computed = 0;
    const compute = async (): Promise<Buffer> => {
      computed++;
      return Buffer.from('reply');
    };
    await Promise.all([cache.once('a', compute), cache.once('a', compute)]);
    await cache.once('a', compute);
    expect(computed).toBe(1);
    for (let index = 0; index < 1_000; index++) await cache.once(`k${index}`, compute);
    expect(cache.size).toBeLessThanOrEqual(100);
  });

  it('forgets an answer after its time, and a failed computation at once', async () => {
    let now = 0;
    const cache = new RetransmitCache({ ttlMs: 1_000, now: () => now });
    let computed = 0;
    await cache.once('a', async () => Buffer.from(String(++computed)));
    now = 2_000;
    await cache.once('a', async () => Buffer.from(String(++computed)));
    expect(computed).toBe(2);
    await expect(cache.once('b', async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await cache.once('b', async () => Buffer.from('ok'))).toEqual(Buffer.from('ok'));
  });
});
