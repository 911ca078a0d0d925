import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../util/log.js';
import { BoxAddressStore } from './addresses.js';
import { BoxClient } from './client.js';
import { UPSTREAM_DIALECT, type BoxDialect } from './dialect.js';
import type { BoxMethod, Transport } from './transport.js';

interface Row {
  qname: string;
  rtype: string;
  value: string;
  ttl?: number;
}

/**
 * A box that keeps records and answers the custom-DNS calls. As the fork, it reads only form
 * bodies: a raw-body PUT of an address stores the caller's address (`forwardedFor`), as
 * Mail-in-a-Box does for an empty A/AAAA value behind nginx.
 */
function fakeBox(flavor: 'upstream' | 'power', rows: Row[], forwardedFor = '10.9.9.9'): { transport: Transport; sent: { method: BoxMethod; url: string; body: string | undefined }[] } {
  const sent: { method: BoxMethod; url: string; body: string | undefined }[] = [];
  const transport: Transport = {
    async send(method, url, headers, body) {
      sent.push({ method, url, body });
      const path = new URL(url).pathname.replace(/^\/admin/, '');
      if (method === 'GET' && path === '/dns/custom') {
        return { status: 200, headers: {}, text: JSON.stringify(rows.map((row) => (flavor === 'power' ? { ...row, ttl: row.ttl ?? 86400 } : { qname: row.qname, rtype: row.rtype, value: row.value }))) };
      }
      const match = /^\/dns\/custom\/([^/]+)\/(A|AAAA)$/.exec(path);
      if (method === 'PUT' && match) {
        const [, qname = '', rtype = ''] = match;
        const form = headers['content-type']?.startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(body ?? '') : undefined;
        const value = flavor === 'power' ? (form?.get('value') ?? '') || forwardedFor : (body ?? '').trim();
        const ttl = flavor === 'power' && form?.get('ttl') ? Number(form.get('ttl')) : undefined;
        rows.splice(0, rows.length, ...rows.filter((row) => !(row.qname === qname && row.rtype === rtype)), { qname, rtype, value, ...(ttl === undefined ? {} : { ttl }) });
        return { status: 200, headers: {}, text: 'updated DNS: example.com\n' };
      }
      return { status: 404, headers: {}, text: 'not found' };
    },
    async close() {},
  };
  return { transport, sent };
}

function store(transport: Transport, dialect: BoxDialect): BoxAddressStore {
  const client = new BoxClient({ apiUrl: 'https://box.test/admin', transport, log: silentLogger, retry: { minTimeoutMs: 1, maxTimeoutMs: 1 }, dialect });
  client.useAuthenticator({ mode: 'session', authorization: async () => 'Basic x', refreshAfterRejection: async () => undefined });
  return new BoxAddressStore(client, dialect, async () => ['example.com']);
}

const puts = (sent: { method: BoxMethod }[]): number => sent.filter((request) => request.method === 'PUT').length;

describe('BoxAddressStore', () => {
  it('reads A, AAAA and a CNAME of one name from one listing; replace leaves exactly the address, TXT untouched', async () => {
    const rows: Row[] = [
      { qname: 'home.example.com', rtype: 'A', value: '192.0.2.1' },
      { qname: 'home.example.com', rtype: 'A', value: '192.0.2.2' },
      { qname: 'home.example.com', rtype: 'TXT', value: 'keep' },
      { qname: 'alias.example.com', rtype: 'CNAME', value: 'Home.example.com.' },
    ];
    const { transport, sent } = fakeBox('upstream', rows);
    const addresses = store(transport, UPSTREAM_DIALECT);
    expect(addresses.ttlSeconds).toBe(86_400);
    expect(await addresses.read('home.example.com')).toEqual({ a: ['192.0.2.1', '192.0.2.2'], aaaa: [], cname: undefined });
    expect((await addresses.read('alias.example.com')).cname).toBe('home.example.com');
    await addresses.replace('home.example.com', 'A', '198.51.100.7');
    expect(rows.filter((row) => row.qname === 'home.example.com')).toEqual([
      { qname: 'home.example.com', rtype: 'TXT', value: 'keep' },
      { qname: 'home.example.com', rtype: 'A', value: '198.51.100.7' },
    ]);
    expect(sent.filter((request) => request.method === 'PUT').map((request) => [request.url, request.body])).toEqual([['https://box.test/admin/dns/custom/home.example.com/A', '198.51.100.7']]);
  });

  it('Power Mail-in-a-Box: a form body with a 60 s TTL', async () => {
    const rows: Row[] = [];
    const { transport, sent } = fakeBox('power', rows);
    const addresses = store(transport, { flavor: 'power', txtTtlSeconds: 300 });
    expect(addresses.ttlSeconds).toBe(60);
    await addresses.replace('home.example.com', 'AAAA', '2001:db8::7');
    expect(rows).toEqual([{ qname: 'home.example.com', rtype: 'AAAA', value: '2001:db8::7', ttl: 60 }]);
    expect(sent.find((request) => request.method === 'PUT')?.body).toBe('value=2001%3Adb8%3A%3A7&ttl=60');
  });

  it('the fork spoken to in the upstream dialect: refused after a listing shows it, detected by the read-back on an empty box', async () => {
    const listed = fakeBox('power', [{ qname: 'other.example.com', rtype: 'TXT', value: 'x' }]);
    const seen = store(listed.transport, UPSTREAM_DIALECT);
    await seen.read('home.example.com');
    await expect(seen.replace('home.example.com', 'A', '198.51.100.7')).rejects.toMatchObject({ code: 'box-dialect-mismatch' });
    expect(puts(listed.sent)).toBe(0);

    // Nothing to list: the first PUT lands as the fork reads it (the caller's address), the
    // read-back shows it, and no further PUT goes out.
    const empty = fakeBox('power', []);
    const blind = store(empty.transport, UPSTREAM_DIALECT);
    await expect(blind.replace('home.example.com', 'A', '198.51.100.7')).rejects.toMatchObject({ code: 'box-dialect-mismatch' });
    await expect(blind.replace('home.example.com', 'A', '198.51.100.7')).rejects.toMatchObject({ code: 'box-dialect-mismatch' });
    expect(puts(empty.sent)).toBe(1);
  });
});
