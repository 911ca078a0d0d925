import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { queryAuthoritative, queryDns, queryTxt, type QueryEvent } from './query.js';
import { runInLoopbackNamespace } from '../../test/fixtures/netns.js';

const PROBES = new URL('../../test/fixtures/no-route-probe.ts', import.meta.url).href;

type Handler = (query: DecodedPacket, transport: 'udp' | 'tcp') => Buffer[];

interface FakeDns {
  readonly host: string;
  readonly port: number;
  readonly received: { query: DecodedPacket; transport: 'udp' | 'tcp' }[];
  close(): Promise<void>;
}

/** A scripted DNS server on loopback (UDP and TCP on one port). */
async function startFakeDns(host: string, handler: Handler): Promise<FakeDns> {
  const received: FakeDns['received'] = [];
  // The UDP port is the system's pick; its TCP twin may be taken by another test's server:
  // then try another port (a listen that fails never calls back, so it must be caught here).
  for (let attempt = 1; ; attempt++) {
    const udp: Socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => udp.bind(0, host, resolve));
    const port = udp.address().port;
    const tcp: Server = createServer((socket) => {
      socket.once('data', (data: Buffer) => {
        const query = dnsPacket.decode(data.subarray(2));
        received.push({ query, transport: 'tcp' });
        for (const reply of handler(query, 'tcp')) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          socket.write(new Uint8Array(Buffer.concat([new Uint8Array(prefix), new Uint8Array(reply)])));
        }
      });
      socket.on('error', () => undefined);
    });
    const listened = await new Promise<boolean>((resolve, reject) => {
      tcp.once('error', (error) => (attempt >= 20 ? reject(error) : resolve(false)));
      tcp.listen(port, host, () => resolve(true));
    });
    if (!listened) {
      udp.close();
      continue;
    }
    udp.on('message', (message, remote) => {
      const query = dnsPacket.decode(message);
      received.push({ query, transport: 'udp' });
      for (const reply of handler(query, 'udp')) udp.send(new Uint8Array(reply), remote.port, remote.address);
    });
    return {
      host,
      port,
      received,
      close: async () => {
        udp.close();
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
      },
    };
  }
}

interface ReplyOptions {
  readonly answers?: Answer[];
  readonly aa?: boolean;
  readonly tc?: boolean;
  readonly rcode?: number;
  readonly id?: number;
}

function replyTo(query: DecodedPacket, options: ReplyOptions = {}): Buffer {
  let flags = 0;
  if (options.aa ?? true) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
  if (options.tc) flags |= dnsPacket.TRUNCATED_RESPONSE;
  if (query.flag_rd) flags |= dnsPacket.RECURSION_DESIRED;
  const message = dnsPacket.encode({ type: 'response', id: options.id ?? query.id, flags, questions: query.questions, answers: options.answers ?? [] });
  message.writeUInt16BE((message.readUInt16BE(2) & ~0xf) | (options.rcode ?? 0), 2);
  return message;
}

const NAME = '_acme-challenge.example.test';
const txt = (value: string, name = NAME): Answer => ({ type: 'TXT', name, data: value });

let servers: FakeDns[] = [];
async function fake(handler: Handler, host = '127.0.0.1'): Promise<FakeDns> {
  const server = await startFakeDns(host, handler);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

describe('queryDns', () => {
  it('ignores a datagram with a wrong ID and takes the real reply', async () => {
    const server = await fake((query) => [replyTo(query, { id: (query.id ?? 0) ^ 1, answers: [txt('forged')] }), replyTo(query, { answers: [txt('real')] })]);
    const result = await queryTxt(server, NAME);
    expect(result).toMatchObject({ status: 'answer', values: ['real'], transport: 'udp' });
  });

  it('sends RD=0 with EDNS0 to authoritative servers and RD=1 to resolvers', async () => {
    const server = await fake((query) => [replyTo(query)]);
    await queryAuthoritative(server, NAME, 'TXT');
    await queryDns(server, 'example.test', 'NS', true);
    const [authoritative, recursive] = server.received.map((entry) => entry.query);
    expect(authoritative?.flag_rd).toBe(false);
    expect(authoritative?.additionals?.find((record) => record.type === 'OPT')).toMatchObject({ udpPayloadSize: 4096 });
    expect(recursive?.flag_rd).toBe(true);
    expect(authoritative?.id).not.toBe(recursive?.id);
  });

  it('retries over TCP when the UDP reply is truncated', async () => {
    const values = Array.from({ length: 5 }, (_, i) => `value-${i}`);
    const server = await fake((query, transport) => [transport === 'udp' ? replyTo(query, { tc: true }) : replyTo(query, { answers: values.map((value) => txt(value)) })]);
    const events: QueryEvent[] = [];
    const result = await queryTxt(server, NAME, { onQuery: (event) => events.push(event) });
    expect(result).toMatchObject({ status: 'answer', values, transport: 'tcp' });
    expect(events.map((event) => event.transport)).toEqual(['udp', 'tcp']);
    expect(events[0]).toMatchObject({ server: `127.0.0.1:${server.port}`, name: NAME, type: 'TXT', recursionDesired: false });
  });

  it('asks again without EDNS when the server answers FORMERR', async () => {
    const server = await fake((query) => {
      const hasOpt = query.additionals?.some((record) => record.type === 'OPT') ?? false;
      return [hasOpt ? replyTo(query, { rcode: 1, aa: false }) : replyTo(query, { answers: [txt('old server')] })];
    });
    expect(await queryTxt(server, NAME)).toMatchObject({ status: 'answer', values: ['old server'] });
    expect(server.received).toHaveLength(2);
  });

  it('reports a closed port at once as refused', async () => {
    const server = await fake(() => []);
    const { port } = server;
    await server.close();
    servers = [];
    const started = performance.now();
    const result = await queryDns({ host: '127.0.0.1', port }, NAME, 'TXT', false, { timeoutMs: 5000 });
    expect(result).toMatchObject({ kind: 'no-answer', failure: 'refused' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('times out on silence, after sending the query a second time', async () => {
    const server = await fake(() => []);
    const result = await queryDns(server, NAME, 'TXT', false, { timeoutMs: 200 });
    expect(result).toMatchObject({ kind: 'no-answer', failure: 'timeout' });
    if (result.kind === 'no-answer') expect(result.detail).toMatch(/no reply from 127\.0\.0\.1:\d+ over UDP within 200 ms/);
    expect(server.received).toHaveLength(2);
    expect(server.received[0]?.query.id).toBe(server.received[1]?.query.id);
  });

  it('says when it ignored a mismatched reply before timing out', async () => {
    const server = await fake((query) => [replyTo({ ...query, questions: [{ name: 'other.test', type: 'TXT' }] })]);
    const result = await queryDns(server, NAME, 'TXT', false, { timeoutMs: 150 });
    expect(result.kind === 'no-answer' && result.detail).toMatch(/ignored a datagram: question for other.test/);
  });

  it('fails a bad TCP reply', async () => {
    const server = await fake((query, transport) => [transport === 'udp' ? replyTo(query, { tc: true }) : replyTo(query, { id: (query.id ?? 0) ^ 1 })]);
    expect(await queryDns(server, NAME, 'TXT', false)).toMatchObject({ kind: 'no-answer', failure: 'bad-reply' });
  });

  it('rejects with the abort reason', async () => {
    const server = await fake(() => []);
    const controller = new AbortController();
    const pending = queryDns(server, NAME, 'TXT', false, { timeoutMs: 5000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user pressed ^C')), 20);
    await expect(pending).rejects.toThrow('user pressed ^C');
  });

  it('reports an address without a route as no-route, over UDP and TCP, without throwing', async () => {
    // In a loopback-only network namespace of its own, connect() to 2001:db8::/32 and
    // 192.0.2.0/24 fails with ENETUNREACH at once; nothing is sent. This used to throw
    // ERR_SOCKET_BAD_PORT from a callback (an uncaught exception), because the failed connect
    // was ignored.
    const { result, uncaught } = await runInLoopbackNamespace<{
      result: { udp: unknown; v4: unknown; tcp: unknown; elapsedMs: number };
      uncaught: string[];
    }>(PROBES, 'queryWithoutRoute');
    expect(result.udp).toEqual({ kind: 'no-answer', failure: 'no-route', detail: 'this machine has no route to [2001:db8::1]:53 (ENETUNREACH)' });
    expect(result.v4).toMatchObject({ kind: 'no-answer', failure: 'no-route' });
    expect(result.tcp).toMatchObject({ transportFailure: true, kind: 'no-route', message: expect.stringMatching(/ENETUNREACH/) });
    expect(result.elapsedMs).toBeLessThan(1000);
    expect(uncaught).toEqual([]);
  });

  it('turns a socket call that throws at once (port 0) into a failure value', async () => {
    expect(await queryDns({ host: '127.0.0.1', port: 0 }, NAME, 'TXT', false, { timeoutMs: 500 })).toMatchObject({
      kind: 'no-answer',
      failure: 'network',
      detail: expect.stringMatching(/^127\.0\.0\.1:0: ERR_SOCKET_BAD_PORT$/),
    });
  });

  it('asks over TCP after a UDP timeout only when told to', async () => {
    const server = await fake((query, transport) => (transport === 'tcp' ? [replyTo(query, { answers: [txt('over tcp')] })] : []));
    const plain = await queryTxt(server, NAME, { timeoutMs: 100 });
    expect(plain).toMatchObject({ status: 'no-answer', failure: 'timeout' });
    const events: QueryEvent[] = [];
    const retried = await queryTxt(server, NAME, { timeoutMs: 100, tcpAfterUdpTimeout: true, onQuery: (event) => events.push(event) });
    expect(retried).toMatchObject({ status: 'answer', values: ['over tcp'], transport: 'tcp' });
    expect(events.map((event) => event.transport)).toEqual(['udp', 'tcp']);
  });

  it('explains a UDP timeout followed by a failed TCP attempt', async () => {
    const server = await fake(() => []);
    const result = await queryDns(server, NAME, 'TXT', false, { timeoutMs: 100, tcpAfterUdpTimeout: true });
    expect(result.kind === 'no-answer' && result.detail).toMatch(/^no reply from 127\.0\.0\.1:\d+ over UDP within 100 ms, and TCP failed: no reply from .* over TCP within 100 ms$/);
  });

  it('works over IPv6', async () => {
    const server = await fake((query) => [replyTo(query, { answers: [txt('six')] })], '::1');
    expect(await queryTxt(server, NAME)).toMatchObject({ status: 'answer', values: ['six'] });
  });
});

describe('queryAuthoritative / queryTxt classification', () => {
  it.each<[string, ReplyOptions, object]>([
    ['NOERROR with AA', { answers: [txt('v1'), txt('v2')] }, { status: 'answer', values: ['v1', 'v2'], cname: undefined }],
    ['NODATA', {}, { status: 'answer', values: [] }],
    ['NXDOMAIN with AA', { rcode: 3 }, { status: 'nxdomain' }],
    ['an answer without AA', { aa: false, answers: [txt('cached')] }, { status: 'not-authoritative' }],
    ['NXDOMAIN without AA', { aa: false, rcode: 3 }, { status: 'not-authoritative' }],
    ['REFUSED', { aa: false, rcode: 5 }, { status: 'error', rcode: 'REFUSED' }],
    ['SERVFAIL', { aa: false, rcode: 2 }, { status: 'error', rcode: 'SERVFAIL' }],
    ['a CNAME', { answers: [{ type: 'CNAME', name: NAME, data: 'target.other.test' }] }, { status: 'answer', values: [], cname: 'target.other.test' }],
    [
      'a CNAME followed to a missing target (NXDOMAIN)',
      { rcode: 3, answers: [{ type: 'CNAME', name: NAME, data: 'target.other.test' }] },
      { status: 'answer', values: [], cname: 'target.other.test' },
    ],
  ])('%s', async (_label, options, expected) => {
    const server = await fake((query) => [replyTo(query, options)]);
    expect(await queryTxt(server, NAME)).toMatchObject(expected);
  });

  it('keeps only records of the asked type at the asked name', async () => {
    const server = await fake((query) => [
      replyTo(query, {
        answers: [
          { type: 'A', name: 'ns1.example.test', data: '192.0.2.1' },
          { type: 'A', name: 'other.example.test', data: '192.0.2.2' },
          { type: 'AAAA', name: 'ns1.example.test', data: '2001:db8::1' },
        ],
      }),
    ]);
    const result = await queryAuthoritative(server, 'NS1.example.test', 'A');
    expect(result.status === 'answer' && result.records.map((record) => (record.type === 'A' ? record.data : record.type))).toEqual(['192.0.2.1']);
  });
});
