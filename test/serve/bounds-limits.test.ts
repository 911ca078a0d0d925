/**
 * Issue 20 through the real HTTP server (in-process, in-memory box): each bound holds however
 * the requests arrive. Limits are set low so that the floods stay small.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestPki } from '../fixtures/certs.js';
import { basicAuth, call, digest, harness, httpreq, type Harness } from './bounds-harness.js';

const NAME = '_acme-challenge.a.example.test';
let h: Harness;
beforeEach(async () => void (h = await harness()));
afterEach(async () => h.dispose());

const wrong = { username: '00000000-0000-4000-8000-000000000000', password: 'wrong-password-wrong-password-wrong-pass' };

it('200 parallel wrong passwords from one address: at most 10 verified, the rest 429', async () => {
  await h.addClient('web1', ['a.example.test']);
  const { url } = await h.start({ limits: { maxConnectionsPerAddress: 1_000 } });
  const answers = await Promise.all(Array.from({ length: 200 }, () => httpreq(url, 'present', wrong, `${NAME}.`, digest(), '127.0.0.7')));
  const verified = h.audit.filter((entry) => entry.note === 'bad_credentials');
  expect(verified.length).toBeLessThanOrEqual(10);
  expect(answers.filter((answer) => answer.status === 401).length).toBeLessThanOrEqual(10);
  expect(answers.filter((answer) => answer.status === 429).length).toBeGreaterThanOrEqual(190);
});

it('40 pipelined wrong passwords on one connection: at most 10 verified', async () => {
  await h.addClient('web1', ['a.example.test']);
  const { url } = await h.start();
  const port = Number(new URL(url).port);
  const body = JSON.stringify({ fqdn: `${NAME}.`, value: digest() });
  const one = `POST /present HTTP/1.1\r\nHost: x\r\n${Object.entries(basicAuth(wrong)).map(([key, value]) => `${key}: ${value}`).join('\r\n')}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const text = await new Promise<string>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.8' }, () => socket.write(one.repeat(40)));
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      if ((answer.match(/HTTP\/1\.1 \d{3} /g) ?? []).length >= 40) socket.end();
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', () => undefined);
  });
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => match[1]);
  expect(statuses.filter((status) => status === '401').length).toBeLessThanOrEqual(10);
  expect(statuses.filter((status) => status === '429').length).toBeGreaterThan(0);
  expect(h.audit.filter((entry) => entry.note === 'bad_credentials').length).toBeLessThanOrEqual(10);
});

it('wrong passwords from many addresses are refused at once past the bound on slow hashes; a client keeps working', async () => {
  const client = await h.addClient('web1', ['a.example.test']);
  const { url } = await h.start({ limits: { maxPendingVerifications: 2 } });
  expect((await httpreq(url, 'present', client, `${NAME}.`, digest(), '127.0.0.2')).status).toBe(200);
  const flood = Array.from({ length: 60 }, (_, index) => httpreq(url, 'present', { ...wrong, password: `${wrong.password}${index}` }, `${NAME}.`, digest(), `127.0.9.${index + 1}`));
  const mine = await httpreq(url, 'present', client, `${NAME}.`, digest(), '127.0.0.2');
  const answers = await Promise.all(flood);
  expect(mine.status).toBe(200);
  const busy = answers.filter((answer) => answer.status === 503);
  expect(busy.length).toBeGreaterThan(30);
  expect(busy[0]?.headers['retry-after']).toBe('1');
});

function openIdle(port: number, from: string, count: number): Promise<{ sockets: Socket[]; closed: () => number }> {
  let closed = 0;
  const sockets: Socket[] = [];
  return new Promise((resolve) => {
    let connected = 0;
    for (let index = 0; index < count; index++) {
      const socket = connect({ port, host: '127.0.0.1', localAddress: from }, () => {
        if (++connected === count) setTimeout(() => resolve({ sockets, closed: () => closed }), 300);
      });
      socket.on('close', () => closed++);
      socket.on('error', () => undefined);
      sockets.push(socket);
    }
  });
}

it('one address holds no more than its share of connections; /health from another address still answers', async () => {
  const { url } = await h.start({ limits: { maxConnectionsPerAddress: 5, maxConnections: 30 } });
  const idle = await openIdle(Number(new URL(url).port), '127.0.0.9', 40);
  try {
    expect(idle.closed()).toBeGreaterThanOrEqual(35);
    const health = await Promise.all(Array.from({ length: 10 }, () => call(url, { method: 'GET', path: '/health', from: '127.0.0.10' })));
    expect(health.every((answer) => answer.status === 200)).toBe(true);
  } finally {
    for (const socket of idle.sockets) socket.destroy();
  }
});

it('a TLS socket that never sends its ClientHello is dropped with the header timeout', async () => {
  const pki = await createTestPki();
  try {
    const { url } = await h.start({ tls: { cert: pki.leaf.certPem, key: pki.leaf.keyPem }, headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
    const started = Date.now();
    const lasted = await new Promise<number>((resolve) => {
      const socket = connect({ port: Number(new URL(url).port), host: '127.0.0.1' });
      socket.on('close', () => resolve(Date.now() - started));
      socket.on('error', () => undefined);
      setTimeout(() => (socket.destroy(), resolve(Infinity)), 8_000).unref();
    });
    expect(lasted).toBeLessThan(8_000);
    // And a real handshake still works.
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tlsConnect({ port: Number(new URL(url).port), host: '127.0.0.1', ca: pki.ca.certPem, servername: 'localhost' }, () => (socket.end(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    expect(ok).toBe(true);
  } finally {
    await pki.cleanup();
  }
});

it("one client's writes in flight are bounded (429 beyond) and another client's write is not stuck behind them", async () => {
  const busy = await h.addClient('busy', ['a.example.test']);
  const other = await h.addClient('other', ['b.example.test']);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  h.waiter = async (records) => {
    if (records.some((record) => record.fqdn === NAME)) await gate;
  };
  const { url } = await h.start({ limits: { maxWritesPerClient: 3 } });
  // Both verified once (a cold burst of one credential costs one hash anyway: coalesced).
  expect((await httpreq(url, 'cleanup', other, '_acme-challenge.b.example.test.', digest())).status).toBe(200);
  const flood = Array.from({ length: 20 }, () => httpreq(url, 'present', busy, `${NAME}.`, digest()));
  const mine = await httpreq(url, 'present', other, '_acme-challenge.b.example.test.', digest());
  expect(mine.status).toBe(200);
  release();
  const answers = await Promise.all(flood);
  expect(answers.filter((answer) => answer.status === 200)).toHaveLength(3);
  expect(answers.filter((answer) => answer.status === 429).length).toBe(17);
  expect((await h.store.txtValues(NAME)).length).toBe(3);
});

it('a client holds at most the configured number of live values at one name', async () => {
  const client = await h.addClient('web1', ['a.example.test']);
  const { url } = await h.start({ limits: { maxValuesPerName: 3 } });
  const values = [digest(), digest(), digest(), digest()];
  const statuses = [];
  for (const value of values) statuses.push((await httpreq(url, 'present', client, `${NAME}.`, value)).status);
  expect(statuses).toEqual([200, 200, 200, 429]);
  expect((await httpreq(url, 'cleanup', client, `${NAME}.`, values[0] ?? '')).status).toBe(200);
  expect((await httpreq(url, 'present', client, `${NAME}.`, values[3] ?? '')).status).toBe(200);
});

it('unauthenticated 404s are aggregated per address and minute: a few lines, with the count', async () => {
  const { url } = await h.start();
  for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 50 }, () => call(url, { method: 'GET', path: '/x', from: '127.0.0.11' })));
  expect(h.audit.filter((entry) => entry.status === 404).length).toBe(1);
  await h.instance?.close(1_000);
  h.instance = undefined;
  const lines = h.audit.filter((entry) => entry.status === 404);
  expect(lines).toHaveLength(2);
  expect(lines[1]).toMatchObject({ ip: '127.0.0.11', count: 499, note: 'aggregated' });
});

it('at the values cap, a value older than --expire-after (a killed run) makes room; a recent one does not', async () => {
  const client = await h.addClient('web1', ['a.example.test']);
  const { url } = await h.start({ limits: { maxValuesPerName: 2 }, expireAfterMs: 1_500 });
  const [old, recent, next] = [digest(), digest(), digest()];
  expect((await httpreq(url, 'present', client, `${NAME}.`, old)).status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 1_600));
  expect((await httpreq(url, 'present', client, `${NAME}.`, recent)).status).toBe(200);
  expect((await httpreq(url, 'present', client, `${NAME}.`, next)).status).toBe(200);
  expect((await h.store.txtValues(NAME)).sort()).toEqual([recent, next].sort());
  expect((await httpreq(url, 'present', client, `${NAME}.`, digest())).status).toBe(429);
});
