import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../util/log.js';
import type { Authenticator } from './types.js';
import { BoxClient, firstLine, type RetryPolicy } from './client.js';
import type { BoxMethod, BoxResponse, Transport } from './transport.js';

interface Sent {
  readonly method: BoxMethod;
  readonly url: string;
  readonly body: string | undefined;
}

function recordingClient(
  answers: BoxResponse[] = [],
  options: { retry?: Partial<RetryPolicy>; signal?: AbortSignal; fallback?: (method: string, url: string) => BoxResponse } = {},
): { client: BoxClient; sent: Sent[] } {
  const sent: Sent[] = [];
  const transport: Transport = {
    async send(method, url, _headers, body) {
      sent.push({ method, url, body });
      return answers.shift() ?? options.fallback?.(method, url) ?? { status: 200, headers: {}, text: 'updated DNS: example.com\n' };
    },
    async close() {},
  };
  const client = new BoxClient({ apiUrl: 'https://box.test/admin', transport, log: silentLogger, retry: options.retry ?? { minTimeoutMs: 1, maxTimeoutMs: 1 }, signal: options.signal });
  const auth: Authenticator = { mode: 'session', authorization: async () => 'Basic x', refreshAfterRejection: async () => undefined };
  client.useAuthenticator(auth);
  return { client, sent };
}

describe('BoxClient', () => {
  it('whatever a caller does, never sends a PUT but an A/AAAA one with a value, nor a DELETE without a value', async () => {
    // Every public method, called with every kind of argument, against a box whose answers
    // vary (success, empty lists, 401, 502, 504): what reaches the transport is checked.
    const values: unknown[] = ['', ' ', '\n', undefined, null, 'v', '-v', 0, {}, []];
    const names: unknown[] = ['_acme-challenge.example.com', '', 'example.com/TXT', undefined];
    const kinds: unknown[] = ['TXT', 'A', 'PUT', '', undefined];
    const answers: BoxResponse[] = [
      { status: 200, headers: {}, text: '[]' },
      { status: 200, headers: {}, text: 'OK' },
      { status: 401, headers: {}, text: 'Incorrect email address or password.' },
      { status: 502, headers: {}, text: '<html>502</html>' },
      { status: 504, headers: {}, text: '<html>504</html>' },
    ];
    const methods = Object.getOwnPropertyNames(BoxClient.prototype).filter((name) => !['constructor', 'useAuthenticator', 'close'].includes(name) && typeof Object.getOwnPropertyDescriptor(BoxClient.prototype, name)?.value === 'function');
    expect(methods).toEqual(expect.arrayContaining(['addRecord', 'removeRecord', 'records', 'zones']));
    let calls = 0;
    for (const answer of answers) {
      const { client, sent } = recordingClient([], { fallback: () => answer, retry: { retries: 1, minTimeoutMs: 0, maxTimeoutMs: 0 } });
      const callable = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      for (const method of methods) {
        for (const name of names) {
          for (const kind of kinds) {
            for (const value of values) {
              calls++;
              await Promise.resolve()
                .then(() => callable[method]?.call(client, name, kind, value))
                .catch(() => undefined);
            }
          }
        }
      }
      expect(sent.length).toBeGreaterThan(0);
      for (const request of sent) {
        // PUT replaces every value: only for a dyndns address, whose name has one owner.
        if (request.method === 'PUT') expect({ url: request.url, body: request.body, ok: /\/dns\/custom\/[^/]+\/(A|AAAA)$/.test(request.url) && typeof request.body === 'string' && request.body.trim() !== '' }).toMatchObject({ ok: true });
        if (request.method === 'DELETE') expect(typeof request.body === 'string' && request.body.trim() !== '').toBe(true);
      }
      expect(sent.some((request) => request.method === 'DELETE')).toBe(true);
    }
    expect(calls).toBeGreaterThan(1_000);
  });

  it('refuses a DELETE (or POST) without a value before sending anything', async () => {
    const { client, sent } = recordingClient();
    for (const value of ['', '   ']) {
      await expect(client.removeRecord('_acme-challenge.example.com', 'TXT', value)).rejects.toMatchObject({ code: 'invalid-value' });
      await expect(client.addRecord('_acme-challenge.example.com', 'TXT', value)).rejects.toMatchObject({ code: 'invalid-value' });
    }
    // A caller bypassing the types gets the same refusal.
    await expect(client.removeRecord('_acme-challenge.example.com', 'TXT', undefined as unknown as string)).rejects.toMatchObject({ code: 'invalid-value' });
    expect(sent).toEqual([]);
  });

  it('sends the value as the raw body of a DELETE to /dns/custom/<qname>/TXT', async () => {
    const { client, sent } = recordingClient();
    await client.removeRecord('_acme-challenge.example.com', 'TXT', '-value');
    expect(sent).toEqual([{ method: 'DELETE', url: 'https://box.test/admin/dns/custom/_acme-challenge.example.com/TXT', body: '-value' }]);
  });

  it('treats "OK" as success and a 400 as a typed error with the box text', async () => {
    const { client } = recordingClient([
      { status: 200, headers: {}, text: 'OK' },
      { status: 400, headers: {}, text: 'Invalid name.' },
    ]);
    await client.addRecord('_acme-challenge.example.com', 'TXT', 'v');
    await expect(client.addRecord('_acme-challenge.example.com', 'TXT', 'v')).rejects.toMatchObject({ code: 'box-rejected', status: 400, message: expect.stringContaining('Invalid name.') });
  });

  it('retries 502/503 and gives up after the bounded number of retries', async () => {
    const bad: BoxResponse = { status: 502, headers: {}, text: '<html>502 Bad Gateway</html>' };
    const { client, sent } = recordingClient([bad, bad, bad, bad, bad, bad]);
    await expect(client.addRecord('_acme-challenge.example.com', 'TXT', 'v')).rejects.toMatchObject({ code: 'box-http', status: 502 });
    expect(sent).toHaveLength(5);
  });

  it('says what nginx\'s 502 and 504 pages say, once', async () => {
    const page = (status: number, title: string): BoxResponse => ({
      status,
      headers: {},
      text: `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
    });
    const { client } = recordingClient([page(502, 'Bad Gateway'), page(504, 'Gateway Time-out')], { retry: { retries: 0 } });
    const error: unknown = await client.zones().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'box-http', status: 502, body: '502 Bad Gateway' });
    expect((error as Error).message).toBe('GET /dns/zones failed with HTTP 502 Bad Gateway (the box is restarting or busy)');
    await expect(client.zones()).rejects.toThrow(/^GET \/dns\/zones failed with HTTP 504 Gateway Time-out \(the box is restarting or busy\)$/);
    expect(firstLine('Invalid name.\n')).toBe('Invalid name.');
    expect(firstLine('<p>Something went <b>wrong</b></p>')).toBe('Something went wrong');
  });

  it('a signal ends a back-off at once; later requests are still sent, once, so the caller can clean up', async () => {
    const bad: BoxResponse = { status: 502, headers: {}, text: 'bad gateway' };
    const controller = new AbortController();
    const { client, sent } = recordingClient([bad], { signal: controller.signal, retry: { minTimeoutMs: 20_000, maxTimeoutMs: 20_000 }, fallback: () => bad });
    const started = Date.now();
    const write = client.addRecord('_acme-challenge.example.com', 'TXT', 'v');
    setTimeout(() => controller.abort(new Error('stopped')), 50);
    await expect(write).rejects.toThrow('stopped');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(sent).toHaveLength(1);
    // The undo after the signal: sent once, no retry and no back-off even when it fails.
    await expect(client.removeRecord('_acme-challenge.example.com', 'TXT', 'v')).rejects.toMatchObject({ status: 502 });
    expect(sent.map((request) => request.method)).toEqual(['POST', 'DELETE']);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('after a 504 on a write, reads back and does not write again when it landed', async () => {
    const { client, sent } = recordingClient([
      { status: 504, headers: {}, text: '<html>504 Gateway Time-out</html>' },
      { status: 200, headers: {}, text: JSON.stringify([{ qname: '_acme-challenge.example.com', rtype: 'TXT', value: 'v' }]) },
    ]);
    await client.addRecord('_acme-challenge.example.com', 'TXT', 'v');
    expect(sent.map((request) => request.method)).toEqual(['POST', 'GET']);
  });
});
