import { describe, expect, it } from 'vitest';
import { silentLogger } from '../util/log.js';
import type { Authenticator } from '../auth/types.js';
import { BoxClient } from './client.js';
import type { BoxMethod, BoxResponse, Transport } from './transport.js';

interface Sent {
  readonly method: BoxMethod;
  readonly url: string;
  readonly body: string | undefined;
}

function recordingClient(answers: BoxResponse[] = []): { client: BoxClient; sent: Sent[] } {
  const sent: Sent[] = [];
  const transport: Transport = {
    async send(method, url, _headers, body) {
      sent.push({ method, url, body });
      return answers.shift() ?? { status: 200, headers: {}, text: 'updated DNS: example.com\n' };
    },
    async close() {},
  };
  const client = new BoxClient({ apiUrl: 'https://box.test/admin', transport, log: silentLogger, retry: { minTimeoutMs: 1, maxTimeoutMs: 1 } });
  const auth: Authenticator = { mode: 'session', authorization: async () => 'Basic x', refreshAfterRejection: async () => undefined };
  client.useAuthenticator(auth);
  return { client, sent };
}

describe('BoxClient', () => {
  it('has no way to send PUT', () => {
    const methods = Object.getOwnPropertyNames(BoxClient.prototype).map((name) => name.toLowerCase());
    expect(methods.some((name) => name.includes('put') || name.includes('replace') || name.includes('set'))).toBe(false);
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

  it('after a 504 on a write, reads back and does not write again when it landed', async () => {
    const { client, sent } = recordingClient([
      { status: 504, headers: {}, text: '<html>504 Gateway Time-out</html>' },
      { status: 200, headers: {}, text: JSON.stringify([{ qname: '_acme-challenge.example.com', rtype: 'TXT', value: 'v' }]) },
    ]);
    await client.addRecord('_acme-challenge.example.com', 'TXT', 'v');
    expect(sent.map((request) => request.method)).toEqual(['POST', 'GET']);
  });
});
