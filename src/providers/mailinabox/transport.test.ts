import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../util/log.js';
import { BoxTransport, connectionError, neverReachedBox } from './transport.js';

const API_KEY = 'f'.repeat(64);
const AUTHORIZATION = `Basic ${Buffer.from('admin@box.test:Pa55word-never-logged').toString('base64')}`;
const TOTP = '123456';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function recordingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const push = (line: string): void => void lines.push(line);
  return { log: { info: push, warn: push, debug: push }, lines };
}

describe('BoxTransport', () => {
  it('a library caller\'s logger never sees the credentials, the TOTP code or the session key', async () => {
    const base = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ api_key: API_KEY, email: 'admin@box.test', privileges: ['admin'], status: 'ok' }));
    });
    const { log, lines } = recordingLogger();
    const transport = new BoxTransport({ tls: { caPem: undefined, fingerprint: undefined }, log });
    try {
      const response = await transport.send('POST', `${base}/admin/login`, { authorization: AUTHORIZATION, 'x-auth-token': TOTP, accept: 'application/json' });
      expect(response.text).toContain(API_KEY);
    } finally {
      await transport.close();
    }
    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(all).toContain('/admin/login');
    for (const secret of [AUTHORIZATION.slice('Basic '.length), TOTP, API_KEY]) expect(all).not.toContain(secret);
  });

  it('a refused connection is box-unreachable, names the host, and counts as never sent', async () => {
    const { log } = recordingLogger();
    const transport = new BoxTransport({ tls: { caPem: undefined, fingerprint: undefined }, log });
    try {
      const error: unknown = await transport.send('POST', 'http://127.0.0.1:1/admin/login', {}).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'box-unreachable', message: expect.stringContaining('127.0.0.1:1: connection refused') });
      expect(neverReachedBox(error)).toBe(true);
    } finally {
      await transport.close();
    }
  });

  it('names the host for DNS failures; a reset after sending may have reached the box', () => {
    const notFound = connectionError('https://box.invalid/admin/login', Object.assign(new Error('getaddrinfo ENOTFOUND box.invalid'), { code: 'ENOTFOUND' }));
    expect(notFound).toMatchObject({ code: 'box-unreachable', message: expect.stringMatching(/box\.invalid: the name does not resolve/) });
    expect(neverReachedBox(notFound)).toBe(true);
    const reset = connectionError('https://box.test/admin/login', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    expect(reset.code).toBe('box-unreachable');
    expect(neverReachedBox(reset)).toBe(false);
    const untrusted = connectionError('https://box.test/admin/login', Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }));
    expect(untrusted.code).toBe('tls-untrusted');
    expect(neverReachedBox(untrusted)).toBe(true);
  });

  it('a signal cuts a request short with the signal\'s reason', async () => {
    const base = await listen(() => undefined); // never answers
    const transport = new BoxTransport({ tls: { caPem: undefined, fingerprint: undefined }, log: recordingLogger().log });
    const controller = new AbortController();
    try {
      const started = Date.now();
      setTimeout(() => controller.abort(new Error('stopped')), 50);
      await expect(transport.send('GET', `${base}/admin/dns/zones`, {}, undefined, controller.signal)).rejects.toThrow('stopped');
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      server?.closeAllConnections();
      await transport.close();
    }
  });
});
