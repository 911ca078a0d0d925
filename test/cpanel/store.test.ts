/**
 * The cPanel provider against the cPanel emulator (the record-store contract in each auth mode
 * runs in test/records-conformance.test.ts): serial races, one-time-code replays, the shared session cache, expiry and every refusal.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createCpanelTransport, type CpanelTransport } from '../../src/providers/cpanel/transport.js';
import { silentLogger } from '../../src/util/log.js';
import { harness, stopAll } from './harness.js';

afterEach(stopAll);
afterAll(stopAll);

const NAME = '_acme-challenge.example.test';

describe('provider identity', () => {
  it('keys the journal by the account: cpanel:<user>@<server>, never a box URL', async () => {
    const h = await harness('token');
    const provider = await h.openViaRegistry();
    expect(provider.name).toBe('cpanel');
    expect(provider.identity).toBe(`cpanel:alice@${h.emulator.url}`);
  });
});

describe('records on the zone', () => {
  it('keeps a wildcard + apex pair as two records; removing one leaves the other and a partner written relative', async () => {
    const h = await harness('token', { records: [{ zone: 'example.test', dname: '_acme-challenge', recordType: 'TXT', data: ['partner'] }] });
    const { store } = await h.open();
    expect(await store.txtValues(NAME)).toEqual(['partner']);
    await store.appendTxt(NAME, 'wildcard-value');
    await store.appendTxt(NAME, 'apex-value');
    const txtLines = h.emulator.lines('example.test').filter((line) => line.type === 'record' && line.recordType === 'TXT');
    expect(txtLines).toHaveLength(3);
    // Sent absolute with the dot, one value per record.
    expect(txtLines.slice(1).map((line) => line.type === 'record' && [line.dname, line.data])).toEqual([
      [`${NAME}.`, ['wildcard-value']],
      [`${NAME}.`, ['apex-value']],
    ]);
    await store.deleteTxt(NAME, 'wildcard-value');
    expect(h.emulator.txt(NAME).sort()).toEqual(['apex-value', 'partner']);
  });

  it('sends values with +, & and % intact, and splits a value longer than 255 bytes into character-strings', async () => {
    const h = await harness('token');
    const { store } = await h.open();
    const long = 'x'.repeat(300);
    await store.appendTxt(NAME, 'a+b&c%20=d');
    await store.appendTxt(NAME, long);
    expect(h.emulator.txt(NAME).sort()).toEqual(['a+b&c%20=d', long]);
    expect((await store.txtValues(NAME)).sort()).toEqual(['a+b&c%20=d', long]);
  });

  it('finds zones through list_domains by the longest suffix, and reads CNAMEs relative or absolute', async () => {
    const h = await harness('token', {
      zones: ['example.test', 'sub.example.test'],
      records: [
        { zone: 'example.test', dname: '_acme-challenge.www', recordType: 'CNAME', data: ['_acme-challenge.other.test.'] },
        { zone: 'sub.example.test', dname: '_acme-challenge.sub.example.test.', recordType: 'CNAME', data: ['target'] },
      ],
    });
    const provider = await h.open();
    expect(await provider.check()).toMatchObject({ account: 'alice', authMode: 'token', session: undefined, zones: ['example.test', 'sub.example.test'] });
    expect(await provider.store.cnameTarget('_acme-challenge.www.example.test')).toBe('_acme-challenge.other.test');
    expect(await provider.store.cnameTarget('_acme-challenge.sub.example.test')).toBe('target.sub.example.test');
    await provider.store.appendTxt('_acme-challenge.a.sub.example.test', 'v');
    expect(h.emulator.lines('sub.example.test').some((line) => line.type === 'record' && line.dname === '_acme-challenge.a.sub.example.test.')).toBe(true);
    await expect(provider.store.appendTxt('_acme-challenge.elsewhere.test', 'v')).rejects.toMatchObject({ code: 'zone-not-found' });
  });
});

describe('serial race', () => {
  it('re-reads and retries when another editor changed the zone between read and write', async () => {
    const h = await harness('token', { records: [{ zone: 'example.test', dname: NAME + '.', recordType: 'TXT', data: ['partner'] }] });
    const { store } = await h.open();
    h.emulator.staleSerialOnNextWrites(2);
    await store.appendTxt(NAME, 'ours');
    expect(h.emulator.txt(NAME).sort()).toEqual(['ours', 'partner']);
    // The foreign edits shifted every line index: the removal must hit our line, not the partner.
    h.emulator.staleSerialOnNextWrites(2);
    await store.deleteTxt(NAME, 'ours');
    expect(h.emulator.txt(NAME)).toEqual(['partner']);
    expect(h.logs.filter((line) => line.includes('changed between our read and write'))).toHaveLength(4);
  });

  it('gives up with a clear error after a bounded number of stale serials in a row, having written nothing', async () => {
    const h = await harness('token');
    const { store } = await h.open({ maxAttempts: 3 });
    h.emulator.staleSerialOnNextWrites(10);
    const failure = store.appendTxt(NAME, 'ours');
    await expect(failure).rejects.toMatchObject({ code: 'box-rejected' });
    await expect(failure).rejects.toThrow(/^cpanel: add record: the zone example\.test changed under us 3 times in a row/);
    expect(h.emulator.txt(NAME)).toEqual([]);
    expect(h.emulator.requests.filter((r) => r.path.includes('mass_edit_zone'))).toHaveLength(3);
  });
});

describe('one-time codes in the X-CPANEL-OTP header', () => {
  it('two providers sharing the state dir never send the code the server accepted last, and need no wait', async () => {
    // A frozen clock: every request falls in one 30 s step.
    const now = (): number => Date.UTC(2026, 10, 30, 12, 0, 5);
    const h = await harness('otp-header', { now });
    // A's requests take a while on the wire: B's picked later must not overtake them.
    const real = createCpanelTransport({ caPem: undefined, fingerprint: undefined }, silentLogger);
    const slow: CpanelTransport = {
      send: async (...args) => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        return real.send(...args);
      },
      close: () => real.close(),
    };
    const [a, b] = [await h.open({ now, transport: slow }), await h.open({ now })];
    const started = Date.now();
    await Promise.all([a.store.appendTxt(NAME, 'one'), b.store.appendTxt(NAME, 'two'), a.store.txtValues(NAME), b.check(), b.store.txtValues(NAME)]);
    expect(Date.now() - started).toBeLessThan(10_000);
    const sent = h.emulator.requests.map((r) => r.otp);
    expect(sent.every((code) => code !== undefined && /^\d{6}$/.test(code))).toBe(true);
    for (let i = 1; i < sent.length; i++) expect(sent[i]).not.toBe(sent[i - 1]);
    expect(h.emulator.requests.every((r) => r.status === 200 && r.uapiStatus === 1)).toBe(true);
    expect(h.emulator.txt(NAME).sort()).toEqual(['one', 'two']);
  });

  it('works with Basic alone when the server policy does not demand a code', async () => {
    const h = await harness('otp-header', { apiRequires2fa: false });
    const provider = await h.open({}, { CPANEL_TOTP_SECRET: '' });
    await provider.store.appendTxt(NAME, 'v');
    expect(h.emulator.txt(NAME)).toEqual(['v']);
    expect(h.emulator.requests.every((r) => r.otp === undefined)).toBe(true);
  });

  it('says the server policy needs the code when no TOTP secret is set', async () => {
    const h = await harness('otp-header');
    const provider = await h.open({}, { CPANEL_TOTP_SECRET: '' });
    const failure = provider.store.appendTxt(NAME, 'v');
    await expect(failure).rejects.toMatchObject({ code: 'missing-totp-token' });
    await expect(failure).rejects.toThrow(/API requests.*CPANEL_TOTP_SECRET/);
  });

  it('a wrong code (wrong secret) is an error after one retry, never success', async () => {
    const h = await harness('otp-header');
    const provider = await h.open({}, { CPANEL_TOTP_SECRET: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ' });
    await expect(provider.store.appendTxt(NAME, 'v')).rejects.toMatchObject({ code: 'auth-invalid-totp' });
    expect(h.emulator.requests.filter((r) => r.status === 401)).toHaveLength(2);
    expect(h.emulator.txt(NAME)).toEqual([]);
  });

  it('a wrong password is an auth error', async () => {
    const h = await harness('otp-header');
    const provider = await h.open({}, { CPANEL_PASSWORD: 'wrong' });
    await expect(provider.check()).rejects.toMatchObject({ code: 'auth-invalid-credentials' });
  });
});

describe('sessions', () => {
  it('two providers (two hook processes) share one login through the 0600 cache', async () => {
    const h = await harness('session');
    const first = await h.open();
    await first.store.appendTxt(NAME, 'one');
    const second = await h.open();
    await second.store.appendTxt(NAME, 'two');
    expect(h.emulator.counts.logins).toBe(1);
    expect(h.emulator.requests.filter((r) => r.auth === 'session').every((r) => r.path.startsWith('/cpsess'))).toBe(true);
    const { readdir, stat } = await import('node:fs/promises');
    const files = (await readdir(`${h.stateDir}/sessions`)).filter((file) => file.endsWith('.json') && !file.includes('totp'));
    expect(files).toHaveLength(1);
    expect((await stat(`${h.stateDir}/sessions/${files[0]}`)).mode & 0o777).toBe(0o600);
  });

  it('logs in concurrently only once', async () => {
    const h = await harness('session');
    const [a, b] = [await h.open(), await h.open()];
    await Promise.all([a.check(), b.check(), a.store.txtValues(NAME)]);
    expect(h.emulator.counts.logins).toBe(1);
  });

  it('logs in exactly once more when the server forgot the session', async () => {
    const h = await harness('session');
    const provider = await h.open();
    await provider.store.appendTxt(NAME, 'one');
    h.emulator.expireSessions();
    await provider.store.appendTxt(NAME, 'two');
    expect(h.emulator.counts.logins).toBe(2);
    // A later hook process uses the new session from the cache.
    await (await h.open()).store.deleteTxt(NAME, 'one');
    expect(h.emulator.counts.logins).toBe(2);
    expect(h.emulator.txt(NAME)).toEqual(['two']);
  });

  it('a login page instead of the API answer (HTTP 200) after the one re-login is an error, never success', async () => {
    const h = await harness('session', { sessionGoneStatus: 200 });
    const provider = await h.open();
    await provider.check();
    h.emulator.breakSessions(true);
    const failure = provider.store.appendTxt(NAME, 'v');
    await expect(failure).rejects.toMatchObject({ code: 'auth-session-rejected' });
    expect(h.emulator.counts.logins).toBe(2);
    expect(h.emulator.txt(NAME)).toEqual([]);
  });

  it('logout ends the session on the server and forgets the cache', async () => {
    const h = await harness('session');
    const provider = await h.open();
    await provider.check();
    expect(h.emulator.liveSessions()).toBe(1);
    await provider.logout();
    expect(h.emulator.liveSessions()).toBe(0);
    await provider.check();
    expect(h.emulator.counts.logins).toBe(2);
  });

  it('a wrong password and a missing code are auth errors', async () => {
    const h = await harness('session');
    await expect((await h.open({}, { CPANEL_PASSWORD: 'wrong' })).check()).rejects.toMatchObject({ code: 'auth-invalid-credentials' });
    await expect((await h.open({}, { CPANEL_TOTP_SECRET: '' })).check()).rejects.toMatchObject({ code: 'missing-totp-token' });
    await expect((await h.open({}, { CPANEL_TOTP_SECRET: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ' })).check()).rejects.toMatchObject({ code: 'auth-invalid-totp' });
  });
});

describe('API token refusals', () => {
  it('an expired token is an error naming expiry and the Zone Editor feature', async () => {
    const h = await harness('token');
    const provider = await h.open();
    h.emulator.updateToken('TOKEN0123456789ABCDEFGHIJKLMNOPQ', { expiresAt: Date.now() - 1000 });
    const failure = provider.check();
    await expect(failure).rejects.toMatchObject({ code: 'auth-invalid-credentials' });
    await expect(failure).rejects.toThrow(/^cpanel: list zones: .*expired.*Zone Editor/);
  });

  it('a token without the Zone Editor feature is an error, and nothing is written', async () => {
    const h = await harness('token');
    const provider = await h.open();
    h.emulator.updateToken('TOKEN0123456789ABCDEFGHIJKLMNOPQ', { features: [] });
    await expect(provider.store.appendTxt(NAME, 'v')).rejects.toMatchObject({ code: 'auth-invalid-credentials' });
    expect(h.emulator.txt(NAME)).toEqual([]);
  });
});

describe('abort', () => {
  it('a signal stops the work with the signal\'s reason, not a network error, and nothing is written', async () => {
    const h = await harness('token');
    const controller = new AbortController();
    const { store } = await h.open({ signal: controller.signal });
    await store.zones();
    controller.abort(new Error('stopped by SIGTERM'));
    await expect(store.appendTxt(NAME, 'v')).rejects.toThrow('stopped by SIGTERM');
    expect(h.emulator.txt(NAME)).toEqual([]);
  });
});
