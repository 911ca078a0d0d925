/** The box client in both dialects, and its refusal to DELETE once the box turned out to be the fork. */
import { describe, expect, it } from 'vitest';
import type { Authenticator } from './types.js';
import { silentLogger } from '../../util/log.js';
import { BoxClient } from './client.js';
import type { BoxDialect } from './dialect.js';
import type { BoxMethod, BoxResponse, Transport } from './transport.js';

interface Sent {
  readonly method: BoxMethod;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: string | undefined;
}

const NAME = '_acme-challenge.example.com';
const FORK_REFUSAL: BoxResponse = { status: 400, headers: { 'content-type': 'text/html; charset=utf-8' }, text: 'No value for the record provided.' };

function client(answers: BoxResponse[], dialect?: BoxDialect): { client: BoxClient; sent: Sent[] } {
  const sent: Sent[] = [];
  const transport: Transport = {
    async send(method, url, headers, body) {
      sent.push({ method, path: new URL(url).pathname, contentType: headers['content-type'], body });
      return answers.shift() ?? { status: 200, headers: {}, text: method === 'GET' ? '[]' : 'OK' };
    },
    async close() {},
  };
  const box = new BoxClient({ apiUrl: 'https://box.test/admin', transport, log: silentLogger, retry: { minTimeoutMs: 1, maxTimeoutMs: 1 }, ...(dialect ? { dialect } : {}) });
  const auth: Authenticator = { mode: 'session', authorization: async () => 'Basic x', refreshAfterRejection: async () => undefined };
  box.useAuthenticator(auth);
  return { client: box, sent };
}

describe('BoxClient dialects', () => {
  it('power: POST and DELETE send a form; the POST carries the TTL', async () => {
    const { client: box, sent } = client([], { flavor: 'power', txtTtlSeconds: 300 });
    await box.addRecord(NAME, 'TXT', 'v+1/=');
    await box.removeRecord(NAME, 'TXT', 'v+1/=');
    expect(sent).toEqual([
      { method: 'POST', path: `/admin/dns/custom/${NAME}/TXT`, contentType: 'application/x-www-form-urlencoded', body: 'value=v%2B1%2F%3D&ttl=300' },
      { method: 'DELETE', path: `/admin/dns/custom/${NAME}/TXT`, contentType: 'application/x-www-form-urlencoded', body: 'value=v%2B1%2F%3D' },
    ]);
  });

  it('upstream (default) is unchanged: the raw value as text/plain', async () => {
    const { client: box, sent } = client([]);
    await box.addRecord(NAME, 'TXT', 'v');
    await box.removeRecord(NAME, 'TXT', 'v');
    expect(sent.map(({ method, contentType, body }) => ({ method, contentType, body }))).toEqual([
      { method: 'POST', contentType: 'text/plain; charset=us-ascii', body: 'v' },
      { method: 'DELETE', contentType: 'text/plain; charset=us-ascii', body: 'v' },
    ]);
  });

  it('upstream: the fork\'s refusal of a POST is box-dialect-mismatch (exit 2) naming MIAB_FLAVOR=power, and no DELETE goes out after it', async () => {
    const { client: box, sent } = client([FORK_REFUSAL]);
    const error: unknown = await box.addRecord(NAME, 'TXT', 'v').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'box-dialect-mismatch', exitCode: 2, message: expect.stringContaining('MIAB_FLAVOR=power') });
    expect((error as Error).message).toContain('flavor = power');
    await expect(box.removeRecord(NAME, 'TXT', 'v')).rejects.toMatchObject({ code: 'box-dialect-mismatch', message: expect.stringContaining('EVERY value') });
    await expect(box.removeRecord('_acme-challenge.other.example.com', 'TXT', 'w')).rejects.toMatchObject({ code: 'box-dialect-mismatch' });
    // No further write goes out: the next POST is refused here, not sent.
    await expect(box.addRecord('_acme-challenge.other.example.com', 'TXT', 'w')).rejects.toMatchObject({ code: 'box-dialect-mismatch', message: expect.stringContaining('refused an earlier value') });
    // Reads still work (the engine reads back what is there).
    expect(await box.records(NAME, 'TXT')).toEqual([]);
    expect(sent.map((request) => request.method)).toEqual(['POST', 'GET']);
  });

  it('upstream: a listing whose records carry a ttl (only the fork lists one) blocks every later DELETE', async () => {
    const forkListing: BoxResponse = { status: 200, headers: {}, text: JSON.stringify([{ qname: NAME, rtype: 'TXT', value: 'partner', ttl: 86400 }]) };
    for (const read of [(box: BoxClient) => box.records(NAME, 'TXT'), (box: BoxClient) => box.cnames()]) {
      const { client: box, sent } = client([forkListing]);
      await read(box);
      await expect(box.removeRecord(NAME, 'TXT', 'v')).rejects.toMatchObject({ code: 'box-dialect-mismatch', exitCode: 2, message: expect.stringContaining('MIAB_FLAVOR=power') });
      expect(sent.map((request) => request.method)).toEqual(['GET']);
    }
    // An upstream listing (no ttl) changes nothing.
    const { client: box, sent } = client([{ status: 200, headers: {}, text: JSON.stringify([{ qname: NAME, rtype: 'TXT', value: 'partner' }]) }]);
    await box.records(NAME, 'TXT');
    await box.removeRecord(NAME, 'TXT', 'v');
    expect(sent.map((request) => request.method)).toEqual(['GET', 'DELETE']);
  });

  it('upstream: other 400s stay box-rejected and do not block DELETEs', async () => {
    const { client: box, sent } = client([{ status: 400, headers: {}, text: 'Invalid name.' }]);
    await expect(box.addRecord(NAME, 'TXT', 'v')).rejects.toMatchObject({ code: 'box-rejected' });
    await box.removeRecord(NAME, 'TXT', 'v');
    expect(sent.map((request) => request.method)).toEqual(['POST', 'DELETE']);
  });

  it('power: the same answer is a plain box-rejected (the form was sent; nothing to switch)', async () => {
    const { client: box, sent } = client([FORK_REFUSAL], { flavor: 'power', txtTtlSeconds: 300 });
    await expect(box.addRecord(NAME, 'TXT', 'v')).rejects.toMatchObject({ code: 'box-rejected', status: 400 });
    await box.removeRecord(NAME, 'TXT', 'v');
    expect(sent.map((request) => request.method)).toEqual(['POST', 'DELETE']);
  });
});
