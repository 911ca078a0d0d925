import { createSocket, type Socket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, PropagationError } from '../errors.js';
import type { QueryEvent } from './query.js';
import { parsePropagationSettings } from './settings.js';
import { waitForPropagation } from './wait.js';
import { runInLoopbackNamespace } from '../../test/fixtures/netns.js';

const PROBES = new URL('../../test/fixtures/no-route-probe.ts', import.meta.url).href;

const record = { fqdn: '_acme-challenge.example.test', zone: 'example.test', value: 'v' };

let sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets) socket.close();
  sockets = [];
});

/** A loopback UDP port that swallows every query: a nameserver that never answers. */
async function silentServer(): Promise<string> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  sockets.push(socket);
  return `127.0.0.1:${socket.address().port}`;
}

/** A loopback UDP nameserver that answers every TXT query authoritatively with `values`. */
async function servingServer(values: readonly string[]): Promise<string> {
  const socket = createSocket('udp4');
  socket.on('message', (message, peer) => {
    const query = dnsPacket.decode(message);
    const question = query.questions?.[0];
    if (!question) return;
    const reply = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: [question],
      answers: values.map((data) => ({ type: 'TXT', name: question.name, data })),
    });
    socket.send(new Uint8Array(reply.buffer, reply.byteOffset, reply.byteLength), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  sockets.push(socket);
  return `127.0.0.1:${socket.address().port}`;
}

describe('waitForPropagation without servers', () => {
  it('returns at once for an empty batch', async () => {
    const result = await waitForPropagation([], parsePropagationSettings({ MIAB_NAMESERVERS: '127.0.0.1:1' }));
    expect(result).toEqual({ elapsedMs: 0, servers: [], checked: false });
  });

  it('with MIAB_PROPAGATION_WAIT sleeps instead of checking, and says so', async () => {
    const lines: string[] = [];
    const queries: QueryEvent[] = [];
    const settings = parsePropagationSettings({ MIAB_PROPAGATION_WAIT: '0.2', MIAB_NAMESERVERS: '127.0.0.1:1' });
    const result = await waitForPropagation([record], settings, { progress: (line) => lines.push(line), onQuery: (event) => queries.push(event) });
    expect(result.checked).toBe(false);
    expect(result.servers).toEqual([]);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(195);
    expect(queries).toEqual([]);
    expect(lines[0]).toMatch(/MIAB_PROPAGATION_WAIT=0.2 is set: NOT checking the nameservers, just waiting 0.2 s/);
    expect(lines[1]).toMatch(/without checking/);
  });

  it('aborts the fixed sleep', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('interrupted')), 20);
    await expect(waitForPropagation([record], parsePropagationSettings({ MIAB_PROPAGATION_WAIT: '60' }), { signal: controller.signal })).rejects.toThrow('interrupted');
  });

  it.each([
    [{ ...record, fqdn: '_acme-challenge.Example.test' }, 'invalid-name'],
    [{ ...record, fqdn: '_acme-challenge.example.test.' }, 'invalid-name'],
    [{ ...record, zone: 'other.test' }, 'invalid-name'],
    [{ ...record, zone: 'ample.test', fqdn: 'example.test' }, 'invalid-name'],
    [{ ...record, value: '' }, 'invalid-value'],
  ])('rejects a malformed record %j before any query', async (bad, code) => {
    const queries: QueryEvent[] = [];
    const promise = waitForPropagation([bad], parsePropagationSettings({ MIAB_NAMESERVERS: '127.0.0.1:1' }), { onQuery: (event) => queries.push(event) });
    await expect(promise).rejects.toBeInstanceOf(ConfigError);
    await expect(promise).rejects.toMatchObject({ code });
    expect(queries).toEqual([]);
  });

  it('fails discovery clearly when resolv.conf lists no resolver', async () => {
    const promise = waitForPropagation([record], parsePropagationSettings({}), { resolvConfPath: '/nonexistent/resolv.conf' });
    await expect(promise).rejects.toBeInstanceOf(PropagationError);
    await expect(promise).rejects.toMatchObject({ code: 'nameserver-discovery-failed', message: expect.stringMatching(/MIAB_DNS_RESOLVERS/) });
  });
});

describe('waitForPropagation against a silent server', () => {
  it('stops at once on abort, mid-wait', async () => {
    const server = await silentServer();
    const settings = parsePropagationSettings({ MIAB_NAMESERVERS: server, MIAB_PROPAGATION_TIMEOUT: '60' }, { queryTimeoutMs: 5000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 100);
    const started = performance.now();
    await expect(waitForPropagation([record], settings, { signal: controller.signal })).rejects.toThrow('stop');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('times out with "no answer" for it', async () => {
    const server = await silentServer();
    const settings = parsePropagationSettings({ MIAB_NAMESERVERS: server, MIAB_PROPAGATION_TIMEOUT: '0.3' }, { queryTimeoutMs: 100, initialIntervalMs: 50 });
    const error: unknown = await waitForPropagation([record], settings).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PropagationError);
    if (!(error instanceof PropagationError)) return;
    expect(error.code).toBe('propagation-timeout');
    expect(error.nameservers).toEqual([{ server, ok: false, lastAnswer: expect.stringMatching(/^no answer \(no reply from .* within 100 ms\)$/) }]);
    expect(error.message).toMatch(/UDP and TCP port \d+ are open/);
  });
});

describe('waitForPropagation with addresses this machine cannot reach', () => {
  it('never throws anything but a PropagationError: an unroutable nameserver fails at the timeout, reported once', async () => {
    // In a loopback-only network namespace of its own (test/fixtures/netns.ts): no route off the machine.
    const { result, uncaught } = await runInLoopbackNamespace<{
      result: { errorName: string | undefined; code: string | undefined; nameservers: unknown; lines: string[]; elapsedMs: number };
      uncaught: string[];
    }>(PROBES, 'waitWithoutRoute');
    expect(uncaught).toEqual([]);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(490);
    expect(result.errorName).toBe('PropagationError');
    expect(result).toMatchObject({
      code: 'propagation-timeout',
      nameservers: [{ server: '[2001:db8::1]:53', ok: false, lastAnswer: 'no answer (this machine has no route to [2001:db8::1]:53 (ENETUNREACH))' }],
    });
    expect(result.lines.filter((line) => line.startsWith('cannot reach [2001:db8::1]:53: this machine has no route'))).toHaveLength(1);
  });

  it('says "1 nameserver serves" for one server', async () => {
    const server = await servingServer(['v']);
    const lines: string[] = [];
    const result = await waitForPropagation([record], parsePropagationSettings({ MIAB_NAMESERVERS: server }), { progress: (line) => lines.push(line) });
    expect(result.servers).toEqual([server]);
    expect(lines[0]).toBe(`checking that 1 nameserver serves 1 TXT record: ${server}`);
    expect(lines.at(-1)).toMatch(/^1 nameserver serves the record \(after [\d.]+ s\)$/);
  });
});
