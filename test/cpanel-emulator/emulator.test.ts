/**
 * The cPanel emulator answers as cpanel-api.md says: raw HTTP here, no provider code involved,
 * so a provider bug cannot hide behind an emulator bug of the same shape.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { emulatorTotp, startCpanelEmulator, type CpanelEmulator, type CpanelEmulatorOptions } from './server.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const TOKEN = 'TOKEN0123456789ABCDEFGHIJKLMNOPQ';
const running: CpanelEmulator[] = [];

async function start(options: Partial<CpanelEmulatorOptions> = {}): Promise<CpanelEmulator> {
  const emulator = await startCpanelEmulator({ zones: ['example.test', 'addon.test'], user: 'alice', password: 'pw', tokens: [{ token: TOKEN }], ...options });
  running.push(emulator);
  return emulator;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.stop()));
});

interface Answer {
  status: number;
  text: string;
  json: () => Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

async function get(emulator: CpanelEmulator, path: string, headers: Record<string, string> = { Authorization: `cpanel alice:${TOKEN}` }): Promise<Answer> {
  const response = await request(`${emulator.url}${path}`, { headers });
  const text = await response.body.text();
  return { status: response.statusCode, text, json: () => JSON.parse(text) as Record<string, unknown>, headers: response.headers };
}

const q = (params: Record<string, string>): string => Object.entries(params).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const unb64 = (text: unknown): string => Buffer.from(String(text), 'base64').toString('utf8');

type Line = { line_index: number; type: string; dname_b64?: string; record_type?: string; data_b64?: string[] };
async function parseZone(emulator: CpanelEmulator, zone = 'example.test'): Promise<{ lines: Line[]; serial: string }> {
  const answer = (await get(emulator, `/execute/DNS/parse_zone?zone=${zone}`)).json();
  const lines = answer.data as Line[];
  const soa = lines.find((line) => line.record_type === 'SOA');
  return { lines, serial: unb64(soa?.data_b64?.[2]) };
}

describe('UAPI zone calls', () => {
  it('parse_zone answers the flat envelope with base64 names and data, 0-based line indexes and the SOA serial in data_b64[2]', async () => {
    const emulator = await start();
    const answer = await get(emulator, '/execute/DNS/parse_zone?zone=example.test');
    expect(answer.status).toBe(200);
    const body = answer.json();
    expect(body).toMatchObject({ status: 1, errors: null, messages: null, warnings: null, metadata: {} });
    expect(body).not.toHaveProperty('result');
    const lines = body.data as Line[];
    expect(lines.map((line) => line.line_index)).toEqual(lines.map((_, index) => index));
    const soa = lines.find((line) => line.record_type === 'SOA');
    expect(unb64(soa?.dname_b64)).toBe('example.test.');
    expect(unb64(soa?.data_b64?.[2])).toBe(String(emulator.book.serial('example.test')));
    expect(lines.find((line) => line.record_type === 'CNAME')?.dname_b64).toBe(b64('www'));
  });

  it('mass_edit_zone adds with suffixed keys, reads dname relative unless it ends with a dot, and answers new_serial as a string', async () => {
    const emulator = await start();
    const { serial } = await parseZone(emulator);
    const answer = await get(
      emulator,
      `/execute/DNS/mass_edit_zone?${q({
        zone: 'example.test',
        serial,
        'add-0': JSON.stringify({ dname: '_acme-challenge.example.test.', ttl: 300, record_type: 'TXT', data: ['abs+&%'] }),
        'add-1': JSON.stringify({ dname: '_acme-challenge', ttl: 300, record_type: 'TXT', data: ['rel'] }),
      })}`,
    );
    const body = answer.json();
    expect(body.status).toBe(1);
    expect((body.data as { new_serial: unknown }).new_serial).toBe(String(Number(serial) + 1));
    expect(emulator.txt('_acme-challenge.example.test').sort()).toEqual(['abs+&%', 'rel']);
  });

  it('refuses a stale serial with HTTP 200, status 0 and the documented text', async () => {
    const emulator = await start();
    const { serial } = await parseZone(emulator);
    emulator.staleSerialOnNextWrites(1);
    const add = JSON.stringify({ dname: 'x.example.test.', ttl: 300, record_type: 'TXT', data: ['v'] });
    const answer = await get(emulator, `/execute/DNS/mass_edit_zone?${q({ zone: 'example.test', serial, add })}`);
    expect(answer.status).toBe(200);
    const body = answer.json();
    expect(body.status).toBe(0);
    expect(String((body.errors as string[])[0])).toMatch(
      new RegExp(`^The given serial number \\(${serial}\\) does not match the DNS zone.s serial number \\(${Number(serial) + 1}\\)\\. Refresh your view of the DNS zone, then resubmit\\.$`),
    );
    expect(emulator.txt('x.example.test')).toEqual([]);
    // The foreign edit shifted the line indexes; the next write (fresh serial) passes.
    const again = await parseZone(emulator);
    expect(again.serial).toBe(String(Number(serial) + 1));
    expect((await get(emulator, `/execute/DNS/mass_edit_zone?${q({ zone: 'example.test', serial: again.serial, add })}`)).json().status).toBe(1);
  });

  it('removes by line index, several at once with suffixed keys', async () => {
    const emulator = await start({ records: [1, 2, 3].map((n) => ({ zone: 'example.test', dname: 'r', recordType: 'TXT', data: [`v${n}`] })) });
    const { lines, serial } = await parseZone(emulator);
    const indexes = lines.filter((line) => line.record_type === 'TXT').map((line) => line.line_index);
    const body = (await get(emulator, `/execute/DNS/mass_edit_zone?${q({ zone: 'example.test', serial, 'remove-0': String(indexes[0]), 'remove-1': String(indexes[2]) })}`)).json();
    expect(body.status).toBe(1);
    expect(emulator.txt('r.example.test')).toEqual(['v2']);
  });

  it('list_domains names the main, addon and parked domains', async () => {
    const emulator = await start({ parkedZones: ['parked.test'] });
    expect((await get(emulator, '/execute/DomainInfo/list_domains')).json().data).toEqual({
      main_domain: 'example.test',
      addon_domains: ['addon.test'],
      parked_domains: ['parked.test'],
      sub_domains: [],
    });
  });
});

describe('authentication', () => {
  it('refuses an expired token with 401 and a token lacking Zone Editor with 403', async () => {
    const emulator = await start();
    expect((await get(emulator, '/execute/DomainInfo/list_domains')).status).toBe(200);
    emulator.updateToken(TOKEN, { features: [] });
    expect((await get(emulator, '/execute/DNS/parse_zone?zone=example.test')).status).toBe(403);
    emulator.updateToken(TOKEN, { expiresAt: Date.now() - 1 });
    expect((await get(emulator, '/execute/DomainInfo/list_domains')).status).toBe(401);
    expect((await get(emulator, '/execute/DomainInfo/list_domains', { Authorization: 'cpanel alice:wrong' })).status).toBe(401);
  });

  it('Basic works alone when the policy is off and needs a fresh X-CPANEL-OTP when it is on', async () => {
    let now = Date.UTC(2026, 10, 30, 12, 0, 10);
    const emulator = await start({ totpSecret: SECRET, now: () => now });
    const basic = `Basic ${Buffer.from('alice:pw').toString('base64')}`;
    expect((await get(emulator, '/execute/DomainInfo/list_domains', { Authorization: basic })).status).toBe(200);
    emulator.setApiRequires2fa(true);
    const missing = await get(emulator, '/execute/DomainInfo/list_domains', { Authorization: basic });
    expect(missing.status).toBe(401);
    expect(missing.text).toContain('tfa_login_form');
    const code = emulatorTotp(SECRET, now);
    expect((await get(emulator, '/execute/DomainInfo/list_domains', { Authorization: basic, 'X-CPANEL-OTP': '000000' === code ? '111111' : '000000' })).text).toContain('tfa_login_form');
    expect((await get(emulator, '/execute/DomainInfo/list_domains', { Authorization: basic, 'X-CPANEL-OTP': code })).status).toBe(200);
    // The code accepted last is refused again (replay); the next step's code is accepted at once.
    expect((await get(emulator, '/execute/DomainInfo/list_domains', { Authorization: basic, 'X-CPANEL-OTP': code })).text).toContain('tfa_login_form');
    expect((await get(emulator, '/execute/DomainInfo/list_domains', { Authorization: basic, 'X-CPANEL-OTP': emulatorTotp(SECRET, now, 1) })).status).toBe(200);
    now += 90_000;
    expect((await get(emulator, '/execute/DomainInfo/list_domains', { Authorization: `Basic ${Buffer.from('alice:bad').toString('base64')}`, 'X-CPANEL-OTP': emulatorTotp(SECRET, now) })).status).toBe(401);
  });

  it('session login answers security_token and a cpsession cookie; calls need both; expiry gives the login page', async () => {
    const emulator = await start({ totpSecret: SECRET });
    const bad = await request(`${emulator.url}/login/?login_only=1`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: q({ user: 'alice', pass: 'nope' }) });
    const badBody = JSON.parse(await bad.body.text()) as Record<string, unknown>;
    expect(badBody.status).toBe(0);
    expect(String(badBody.message)).toMatch(/invalid_login/);
    const noCode = await request(`${emulator.url}/login/?login_only=1`, { method: 'POST', body: q({ user: 'alice', pass: 'pw' }) });
    expect(await noCode.body.text()).toContain('tfa_login_form');
    const ok = await request(`${emulator.url}/login/?login_only=1`, { method: 'POST', body: q({ user: 'alice', pass: 'pw', tfa_token: emulatorTotp(SECRET, Date.now()) }) });
    const body = JSON.parse(await ok.body.text()) as { status: number; security_token: string };
    expect(body.status).toBe(1);
    expect(body.security_token).toMatch(/^\/cpsess\d{10}$/);
    const cookie = String([ok.headers['set-cookie']].flat()[0]).split(';')[0] ?? '';
    expect(cookie).toMatch(/^cpsession=/);
    expect(emulator.counts.logins).toBe(1);
    expect(emulator.counts.failedLogins).toBe(2);

    const path = `${body.security_token}/execute/DomainInfo/list_domains`;
    expect((await get(emulator, path, { Cookie: cookie })).json().status).toBe(1);
    expect((await get(emulator, path, {})).text).toContain('login_form');
    expect((await get(emulator, '/execute/DomainInfo/list_domains', { Cookie: cookie })).status).toBe(401);
    emulator.expireSessions();
    const gone = await get(emulator, path, { Cookie: cookie });
    expect(gone.status).toBe(401);
    expect(gone.text).toContain('<html>');
  });
});
