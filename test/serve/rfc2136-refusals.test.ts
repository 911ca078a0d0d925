/**
 * What `serve --dns-listen` refuses, each with zero box writes: names outside the key's scope,
 * non-ACME values, a message mixing in- and out-of-scope records, bad TSIG (wrong secret,
 * unknown key, stale time), unsigned UPDATEs, a key used from outside its --allow-from, failed
 * prerequisites; plus the SOA answers, REFUSED for every other query, the lockout, the
 * retransmit cache and revocation by `clients remove`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readTsig } from '../../src/serve/dns/tsig.js';
import { CLASS, RCODE, TYPE, bytes, parseMessage } from '../../src/serve/dns/wire.js';
import { runCli } from '../fixtures/cli.js';
import { startTopology, type Topology } from '../fixtures/topology.js';
import { newValue, startServe, type ServeProcess } from './helpers.js';
import {
  PARTNER_VALUE,
  addTsigClient,
  dnsListenPort,
  keyOf,
  queryMessage,
  rawRecord,
  sign,
  slowBoxWrites,
  tcpExchange,
  txtAt,
  txtRecord,
  udpExchange,
  updateMessage,
  type TsigClient,
} from './rfc2136-helpers.js';

const NAME = '_acme-challenge.a.example.test';
const OTHER = '_acme-challenge.b.example.test';
const ACME_PARTNER = 'PartnerAcmeShapedValue0123456789abcdefghijk';
let topology: Topology;
let serve: ServeProcess;
let port: number;
let web1: TsigClient;
let web2: TsigClient;
let fenced: TsigClient;
let env: Record<string, string>;

beforeAll(async () => {
  topology = await startTopology({
    lagMs: 500,
    records: [
      { qname: NAME, rtype: 'TXT', value: PARTNER_VALUE },
      { qname: NAME, rtype: 'TXT', value: ACME_PARTNER },
    ],
  });
  env = await topology.env();
  web1 = await addTsigClient(env, 'web1', ['a.example.test']);
  web2 = await addTsigClient(env, 'web2', ['b.example.test'], ['--tsig-algorithm', 'hmac-sha512']);
  fenced = await addTsigClient(env, 'fenced', ['a.example.test'], ['--allow-from', '127.0.0.2']);
  port = await dnsListenPort();
  serve = await startServe(env, ['--dns-listen', `127.0.0.1:${port}`]);
  slowBoxWrites(topology);
});

afterAll(async () => {
  await serve?.stop();
  await topology?.stop();
});

beforeEach(() => topology.emulator.clearLog());

function boxWriteRequests(): number {
  return topology.emulator.requests.filter((request) => request.path.includes('/dns/custom') && request.method !== 'GET').length;
}

async function signedUpdate(client: TsigClient, updates: readonly Buffer[], options: { zone?: string; prerequisites?: readonly Buffer[]; from?: string; tcp?: boolean; secret?: string; keyName?: string; nowSeconds?: number } = {}) {
  const key = { ...keyOf(client.tsig, options.secret), ...(options.keyName === undefined ? {} : { name: options.keyName }) };
  const { message, mac } = sign(updateMessage(options.zone ?? 'example.test', updates, options.prerequisites ?? []), key, options.nowSeconds);
  const exchange = options.tcp === true ? tcpExchange : udpExchange;
  return exchange(port, message, { key: keyOf(client.tsig), requestMac: mac, ...(options.from === undefined ? {} : { from: options.from }) });
}

describe('UPDATE refusals: nothing reaches the box', () => {
  it("another client's name: REFUSED, signed", async () => {
    const reply = await signedUpdate(web1, [txtRecord(OTHER, CLASS.IN, 120, newValue())]);
    expect(reply.rcode).toBe(RCODE.REFUSED);
    expect(reply.signedOk).toBe(true);
    expect(boxWriteRequests()).toBe(0);
  });

  it('a name that is not a challenge name, and a type other than TXT: REFUSED', async () => {
    expect((await signedUpdate(web1, [txtRecord('www.a.example.test', CLASS.IN, 120, newValue())])).rcode).toBe(RCODE.REFUSED);
    expect((await signedUpdate(web1, [txtRecord('_acme-challenge.sub.a.example.test', CLASS.IN, 120, newValue())])).rcode).toBe(RCODE.REFUSED);
    expect((await signedUpdate(web1, [rawRecord(NAME, TYPE.A, CLASS.IN, 120, Buffer.from([127, 0, 0, 9]))])).rcode).toBe(RCODE.REFUSED);
    expect(boxWriteRequests()).toBe(0);
  });

  it('a value that is not an ACME digest: REFUSED', async () => {
    expect((await signedUpdate(web1, [txtRecord(NAME, CLASS.IN, 120, 'v=spf1 include:evil.example -all')])).rcode).toBe(RCODE.REFUSED);
    expect((await signedUpdate(web1, [txtRecord(NAME, CLASS.IN, 120, `${newValue()}x`)])).rcode).toBe(RCODE.REFUSED);
    expect(boxWriteRequests()).toBe(0);
  });

  it('one out-of-scope record among good ones refuses the whole message', async () => {
    const good = newValue();
    const reply = await signedUpdate(web1, [txtRecord(NAME, CLASS.IN, 120, good), txtRecord(OTHER, CLASS.IN, 120, newValue())]);
    expect(reply.rcode).toBe(RCODE.REFUSED);
    expect(boxWriteRequests()).toBe(0);
    expect(txtAt(topology, NAME)).not.toContain(good);
  });

  it('a wrong secret: NOTAUTH with TSIG error BADSIG and no MAC', async () => {
    const reply = await signedUpdate(web1, [txtRecord(NAME, CLASS.IN, 120, newValue())], { secret: Buffer.from('not the secret').toString('base64') });
    expect(reply.rcode).toBe(RCODE.NOTAUTH);
    expect(reply.tsigError).toBe(16);
    expect(readTsig(reply.reply)?.mac).toHaveLength(0);
    expect(boxWriteRequests()).toBe(0);
  });

  it('an unknown key: NOTAUTH with BADKEY', async () => {
    const reply = await signedUpdate(web1, [txtRecord(NAME, CLASS.IN, 120, newValue())], { keyName: 'nobody' });
    expect(reply.rcode).toBe(RCODE.NOTAUTH);
    expect(reply.tsigError).toBe(17);
    expect(boxWriteRequests()).toBe(0);
  });

  it('a time outside the fudge: NOTAUTH with BADTIME, signed, the server time in Other Data', async () => {
    const reply = await signedUpdate(web1, [txtRecord(NAME, CLASS.IN, 120, newValue())], { nowSeconds: Math.floor(Date.now() / 1000) - 1_000 });
    expect(reply.rcode).toBe(RCODE.NOTAUTH);
    expect(reply.tsigError).toBe(18);
    expect(reply.signedOk).toBe(true);
    const serverTime = readTsig(reply.reply)?.otherData.readUIntBE(0, 6) ?? 0;
    expect(Math.abs(serverTime - Date.now() / 1000)).toBeLessThan(60);
    expect(boxWriteRequests()).toBe(0);
  });

  it('an unsigned UPDATE: REFUSED', async () => {
    const reply = await udpExchange(port, updateMessage('example.test', [txtRecord(NAME, CLASS.IN, 120, newValue())]));
    expect(reply.rcode).toBe(RCODE.REFUSED);
    expect(reply.tsigError).toBeUndefined();
    expect(boxWriteRequests()).toBe(0);
  });

  it('a key used from outside its --allow-from: REFUSED (UDP and TCP); from inside it works', async () => {
    const value = newValue();
    expect((await signedUpdate(fenced, [txtRecord(NAME, CLASS.IN, 120, value)], { from: '127.0.0.3' })).rcode).toBe(RCODE.REFUSED);
    expect((await signedUpdate(fenced, [txtRecord(NAME, CLASS.IN, 120, value)], { from: '127.0.0.3', tcp: true })).rcode).toBe(RCODE.REFUSED);
    expect(boxWriteRequests()).toBe(0);
    const inside = await signedUpdate(fenced, [txtRecord(NAME, CLASS.IN, 120, value)], { from: '127.0.0.2' });
    expect(inside.rcode).toBe(RCODE.NOERROR);
    expect(inside.signedOk).toBe(true);
    expect((await signedUpdate(fenced, [txtRecord(NAME, CLASS.NONE, 0, value)], { from: '127.0.0.2', tcp: true })).rcode).toBe(RCODE.NOERROR);
    expect(txtAt(topology, NAME)).toEqual([ACME_PARTNER, PARTNER_VALUE].sort());
  });

  it('a zone that is not a box zone: NOTAUTH; a record outside the zone section: NOTZONE', async () => {
    expect((await signedUpdate(web1, [txtRecord('_acme-challenge.a.example.com', CLASS.IN, 120, newValue())], { zone: 'example.com' })).rcode).toBe(RCODE.NOTAUTH);
    expect((await signedUpdate(web1, [txtRecord(NAME, CLASS.IN, 120, newValue())], { zone: 'other.test' })).rcode).toBe(RCODE.NOTZONE);
    expect(boxWriteRequests()).toBe(0);
  });

  it('prerequisites: "RRset does not exist" fails (YXRRSET) where the partner values are; one outside the scope is REFUSED', async () => {
    const value = newValue();
    const yx = await signedUpdate(web1, [txtRecord(NAME, CLASS.IN, 120, value)], { prerequisites: [txtRecord(NAME, CLASS.NONE, 0, undefined)] });
    expect(yx.rcode).toBe(RCODE.YXRRSET);
    const out = await signedUpdate(web1, [txtRecord(NAME, CLASS.IN, 120, value)], { prerequisites: [txtRecord(OTHER, CLASS.ANY, 0, undefined)] });
    expect(out.rcode).toBe(RCODE.REFUSED);
    expect(boxWriteRequests()).toBe(0);
    const exists = await signedUpdate(web1, [txtRecord(NAME, CLASS.IN, 120, value)], { prerequisites: [txtRecord(NAME, CLASS.ANY, 0, undefined)] });
    expect(exists.rcode).toBe(RCODE.NOERROR);
    expect((await signedUpdate(web1, [txtRecord(NAME, CLASS.NONE, 0, value)])).rcode).toBe(RCODE.NOERROR);
  });

  it("deletes never touch a value the client did not write: class NONE of the partner's value and class ANY leave both partner values", async () => {
    expect((await signedUpdate(web1, [txtRecord(NAME, CLASS.NONE, 0, ACME_PARTNER)])).rcode).toBe(RCODE.NOERROR);
    expect((await signedUpdate(web1, [txtRecord(NAME, CLASS.ANY, 0, undefined)])).rcode).toBe(RCODE.NOERROR);
    expect((await signedUpdate(web1, [rawRecord(NAME, TYPE.ANY, CLASS.ANY, 0, Buffer.alloc(0))])).rcode).toBe(RCODE.NOERROR);
    expect(boxWriteRequests()).toBe(0);
    expect(txtAt(topology, NAME)).toEqual([ACME_PARTNER, PARTNER_VALUE].sort());
  });

  it('a retransmission (same source, ID and MAC) gets the same answer and is applied once', async () => {
    const value = newValue();
    const key = keyOf(web1.tsig);
    const { message, mac } = sign(updateMessage('example.test', [txtRecord(NAME, CLASS.IN, 120, value)]), key);
    const [first, second] = await Promise.all([udpExchange(port, message, { key, requestMac: mac }), new Promise((resolve) => setTimeout(resolve, 50)).then(() => udpExchange(port, message, { key, requestMac: mac }))]);
    expect(first.rcode).toBe(RCODE.NOERROR);
    expect(Buffer.compare(bytes(second.raw), bytes(first.raw))).toBe(0);
    const again = await udpExchange(port, message, { key, requestMac: mac });
    expect(Buffer.compare(bytes(again.raw), bytes(first.raw))).toBe(0);
    expect(topology.emulator.requests.filter((request) => request.path.includes('/dns/custom') && request.method === 'POST')).toHaveLength(1);
    expect((await signedUpdate(web1, [txtRecord(NAME, CLASS.NONE, 0, value)])).rcode).toBe(RCODE.NOERROR);
  });
});

describe('queries', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    it(`SOA over ${transport}: the apex in ANSWER with AA; a name below it in AUTHORITY; signed when the query is`, async () => {
      const exchange = transport === 'tcp' ? tcpExchange : udpExchange;
      const apex = await exchange(port, queryMessage('example.test', TYPE.SOA, { rd: true }));
      expect(apex.rcode).toBe(RCODE.NOERROR);
      expect(apex.raw.readUInt16BE(2) & 0x0400).toBe(0x0400);
      expect(apex.raw.readUInt16BE(2) & 0x0080).toBe(0);
      expect(apex.reply.answers.map((record) => [record.name, record.type])).toEqual([['example.test', TYPE.SOA]]);
      const below = await exchange(port, queryMessage(NAME, TYPE.SOA));
      expect(below.rcode).toBe(RCODE.NOERROR);
      expect(below.reply.answers).toHaveLength(0);
      expect(below.reply.authorities.map((record) => [record.name, record.type])).toEqual([['example.test', TYPE.SOA]]);
      const key = keyOf(web2.tsig);
      const { message, mac } = sign(queryMessage('A.Example.Test', TYPE.SOA), key);
      const signed = await exchange(port, message, { key, requestMac: mac });
      expect(signed.rcode).toBe(RCODE.NOERROR);
      expect(signed.signedOk).toBe(true);
    });
  }

  it('everything else is REFUSED, never bigger than a small reply: other types, names off the box, other opcodes', async () => {
    for (const message of [queryMessage('a.example.test', TYPE.A, { rd: true }), queryMessage(NAME, TYPE.TXT), queryMessage('example.com', TYPE.SOA, { rd: true }), queryMessage('example.test', TYPE.ANY)]) {
      const reply = await udpExchange(port, message);
      expect(reply.rcode).toBe(RCODE.REFUSED);
      expect(reply.raw.length).toBeLessThanOrEqual(message.length);
      expect(reply.reply.answers).toHaveLength(0);
    }
    const notify = Buffer.from(bytes(queryMessage('example.test', TYPE.SOA)));
    notify.writeUInt16BE(4 << 11, 2);
    expect((await udpExchange(port, notify)).rcode).toBe(RCODE.REFUSED);
    expect(parseMessage((await tcpExchange(port, queryMessage('example.org', TYPE.SOA))).raw).rcode).toBe(RCODE.REFUSED);
  });
});

describe('lockout and revocation', () => {
  it('10 bad signatures from one address lock it out, valid key included; another address is not affected', async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const reply = await signedUpdate(web1, [txtRecord(NAME, CLASS.IN, 120, newValue())], { from: '127.0.0.5', secret: Buffer.from(`wrong ${attempt}`).toString('base64') });
      expect(reply.rcode).toBe(RCODE.NOTAUTH);
    }
    const blocked = await signedUpdate(web1, [txtRecord(NAME, CLASS.IN, 120, newValue())], { from: '127.0.0.5' });
    expect(blocked.rcode).toBe(RCODE.REFUSED);
    const soa = await udpExchange(port, queryMessage('example.test', TYPE.SOA), { from: '127.0.0.5' });
    expect(soa.rcode).toBe(RCODE.REFUSED);
    expect(boxWriteRequests()).toBe(0);
    expect((await udpExchange(port, queryMessage('example.test', TYPE.SOA), { from: '127.0.0.6' })).rcode).toBe(RCODE.NOERROR);
  });

  it('clients remove revokes the key at once: the running serve answers BADKEY', async () => {
    const doomed = await addTsigClient(env, 'doomed', ['a.example.test']);
    const value = newValue();
    expect((await signedUpdate(doomed, [txtRecord(NAME, CLASS.IN, 120, value)])).rcode).toBe(RCODE.NOERROR);
    expect((await signedUpdate(doomed, [txtRecord(NAME, CLASS.NONE, 0, value)])).rcode).toBe(RCODE.NOERROR);
    expect((await runCli(['clients', 'remove', 'doomed'], { env })).code).toBe(0);
    topology.emulator.clearLog();
    const reply = await signedUpdate(doomed, [txtRecord(NAME, CLASS.IN, 120, newValue())]);
    expect(reply.rcode).toBe(RCODE.NOTAUTH);
    expect(reply.tsigError).toBe(17);
    expect(boxWriteRequests()).toBe(0);
  });
});

describe('shutdown', () => {
  it('SIGTERM with --dns-listen: an UPDATE in flight is answered, then serve exits 0 and frees the port', async () => {
    const key = keyOf(web1.tsig);
    const value = newValue();
    const { message, mac } = sign(updateMessage('example.test', [txtRecord(NAME, CLASS.IN, 120, value)]), key);
    const pending = tcpExchange(port, message, { key, requestMac: mac });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const exit = await serve.stop();
    expect((await pending).rcode).toBe(RCODE.NOERROR);
    expect(exit).toEqual({ code: 0, signal: null });
    await expect(udpExchange(port, queryMessage('example.test', TYPE.SOA), { timeoutMs: 500 })).rejects.toThrow();
  });
});
