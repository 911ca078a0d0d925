/**
 * The box misbehaving between and during our requests: a daemon restart that forgets every
 * session, nginx 502s while the daemon restarts, a 504 (or a dropped connection) after the
 * change was applied, and a wrong password. Each test has its own emulator, so they run
 * concurrently and each request log belongs to one test.
 */
import { rm } from 'node:fs/promises';
import { describe, expect, it, type TestContext } from 'vitest';
import { startEmulator, type Fault, type MiabEmulator } from '../emulator/index.js';
import { runCli } from '../fixtures/cli.js';
import { acmeValue, adminUsers, boxEnv, dnsWrites, expectNoDangerousRequests, logins, scratch, txt, TEST_PASSWORD } from './helpers.js';

type OnFinished = TestContext['onTestFinished'];

const ZONES = ['example.test', 'other.test'];
const NAME = 'f.example.test';
const QNAME = '_acme-challenge.f.example.test';
const UNRELATED = 'unrelated-value-keep-me';

/** A box with one TOTP admin (and a plain admin without TOTP), an unrelated TXT value at QNAME. */
async function box(onTestFinished: OnFinished): Promise<{ emulator: MiabEmulator; env: Record<string, string> }> {
  const emulator = await startEmulator({
    zones: ZONES,
    users: [...adminUsers('faults-', 1), { email: 'plain@example.test', password: TEST_PASSWORD }],
    records: [{ qname: QNAME, rtype: 'TXT', value: UNRELATED }],
  });
  const where = await scratch('faults');
  onTestFinished(async () => {
    await emulator.stop();
    await rm(where.dir, { recursive: true, force: true });
  });
  return { emulator, env: boxEnv(emulator, 'faults-0@example.test', where) };
}

function custom(emulator: MiabEmulator, method: string): number {
  return emulator.requests.filter((request) => request.method === method && request.path.includes('/dns/custom/')).length;
}

describe.concurrent('a daemon restart between present and cleanup', () => {
  it('cleanup succeeds after exactly one extra login (one 401, one fresh TOTP login)', async ({ onTestFinished }) => {
    const { emulator, env } = await box(onTestFinished);
    const value = acmeValue('-');
    expect(await runCli(['present', '--no-wait', NAME, value], { env })).toMatchObject({ code: 0 });
    expect(logins(emulator)).toHaveLength(1);
    await emulator.restart();
    emulator.clearLog();

    const result = await runCli(['cleanup', NAME, value], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('logging in again');
    expect(logins(emulator).map((request) => request.status)).toEqual([200]);
    // The forgotten key is rejected once (the box logs it as one failed login), never more.
    expect(emulator.requests.filter((request) => request.status === 401)).toHaveLength(1);
    expect(emulator.failedLogins).toBe(1);
    expect(txt(emulator, QNAME)).toEqual([UNRELATED]);
    expectNoDangerousRequests(emulator);
  }, 60_000);
});

describe.concurrent('a daemon still restarting when we log in again', () => {
  it('nginx\'s 502 on the fresh login: retried, no code refused, the stale key never resent', async ({ onTestFinished }) => {
    const { emulator, env } = await box(onTestFinished);
    const value = acmeValue();
    expect(await runCli(['present', '--no-wait', NAME, value], { env })).toMatchObject({ code: 0 });
    await emulator.restart();
    emulator.clearLog();
    emulator.injectFaults([{ status: 502, match: { method: 'POST', pathPrefix: '/login' } }]);

    const result = await runCli(['cleanup', NAME, value], { env });
    expect(result.code, result.stderr).toBe(0);
    // No TOTP wait: said by the absence of its message and of a refused code (a time bound
    // would only measure the machine's load).
    expect(result.stderr).not.toMatch(/waiting|refused the TOTP code/);
    expect(logins(emulator).map((request) => request.status)).toEqual([502, 200]);
    // The forgotten key went out once (one failed login on the box's count), not twice.
    expect(emulator.requests.filter((request) => request.status === 401)).toHaveLength(1);
    expect(emulator.failedLogins).toBe(1);
    expect(txt(emulator, QNAME)).toEqual([UNRELATED]);
    expectNoDangerousRequests(emulator);
  }, 60_000);
});

describe.concurrent('transient faults on writes', () => {
  it('two 502s, then success: three POSTs, exactly one record', async ({ onTestFinished }) => {
    const { emulator, env } = await box(onTestFinished);
    const value = acmeValue('--');
    await runCli(['zones'], { env }); // log in first: the faults are for the write only
    emulator.clearLog();
    const restarting: Fault = { status: 502, match: { method: 'POST', pathPrefix: '/dns/custom/' } };
    emulator.injectFaults([restarting, restarting]);

    const result = await runCli(['present', '--no-wait', NAME, value], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/HTTP 502.*retrying/);
    expect(emulator.pendingFaults()).toEqual([]);
    expect(emulator.requests.filter((request) => request.method === 'POST' && request.path.includes('/dns/custom/')).map((request) => request.status)).toEqual([502, 502, 200]);
    expect(txt(emulator, QNAME).sort()).toEqual([UNRELATED, value].sort());
    expect(logins(emulator)).toHaveLength(0);
    expectNoDangerousRequests(emulator);
  });

  it('a 504 after the change was applied: read back, no second POST, exactly one record', async ({ onTestFinished }) => {
    const { emulator, env } = await box(onTestFinished);
    const value = acmeValue();
    await runCli(['zones'], { env });
    emulator.clearLog();
    emulator.injectFaults([{ status: 504, afterApply: true, match: { method: 'POST', pathPrefix: '/dns/custom/' } }]);

    const result = await runCli(['present', '--no-wait', NAME, value], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('had applied POST');
    expect(custom(emulator, 'POST')).toBe(1);
    // The read-back: a GET of the name's TXT values, after the 504.
    const after504 = emulator.requests.slice(emulator.requests.findIndex((request) => request.status === 504) + 1);
    expect(after504.some((request) => request.method === 'GET' && request.path.endsWith(`/dns/custom/${QNAME}/TXT`))).toBe(true);
    expect(txt(emulator, QNAME).filter((stored) => stored === value)).toHaveLength(1);
    expect(txt(emulator, QNAME)).toHaveLength(2);
    expectNoDangerousRequests(emulator);
  });

  it('a 504 after apply, then a 502 on the read-back: the write loop reads again, still one POST', async ({ onTestFinished }) => {
    const { emulator, env } = await box(onTestFinished);
    const value = acmeValue();
    await runCli(['zones'], { env });
    emulator.clearLog();
    emulator.injectFaults([
      { status: 504, afterApply: true, match: { method: 'POST', pathPrefix: '/dns/custom/' } },
      { status: 502, match: { method: 'GET', pathPrefix: `/dns/custom/${QNAME}/TXT` } },
    ]);

    const result = await runCli(['present', '--no-wait', NAME, value], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(emulator.requests.filter((request) => request.path.endsWith(`/dns/custom/${QNAME}/TXT`)).map((request) => `${request.method} ${request.status}`)).toEqual(['POST 504', 'GET 502', 'GET 200']);
    expect(txt(emulator, QNAME).sort()).toEqual([UNRELATED, value].sort());
  });

  it('a connection dropped after the change was applied: read back, no second POST', async ({ onTestFinished }) => {
    const { emulator, env } = await box(onTestFinished);
    const value = acmeValue();
    await runCli(['zones'], { env });
    emulator.clearLog();
    emulator.injectFaults([{ reset: true, afterApply: true, match: { method: 'POST', pathPrefix: '/dns/custom/' } }]);

    const result = await runCli(['present', '--no-wait', NAME, value], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(custom(emulator, 'POST')).toBe(1);
    expect(txt(emulator, QNAME).sort()).toEqual([UNRELATED, value].sort());
  });

  it('a 504 before the change landed: the read-back finds nothing, one more POST, one record', async ({ onTestFinished }) => {
    const { emulator, env } = await box(onTestFinished);
    const value = acmeValue();
    await runCli(['zones'], { env });
    emulator.clearLog();
    emulator.injectFaults([{ status: 504, match: { method: 'POST', pathPrefix: '/dns/custom/' } }]);

    const result = await runCli(['present', '--no-wait', NAME, value], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(emulator.requests.filter((request) => request.method === 'POST' && request.path.includes('/dns/custom/')).map((request) => request.status)).toEqual([504, 200]);
    expect(txt(emulator, QNAME).sort()).toEqual([UNRELATED, value].sort());
  });

  it('a 504 after a DELETE was applied: no second DELETE, only the unrelated value is left', async ({ onTestFinished }) => {
    const { emulator, env } = await box(onTestFinished);
    const value = acmeValue('-');
    expect(await runCli(['present', '--no-wait', NAME, value], { env })).toMatchObject({ code: 0 });
    emulator.clearLog();
    emulator.injectFaults([{ status: 504, afterApply: true, match: { method: 'DELETE', pathPrefix: '/dns/custom/' } }]);

    const result = await runCli(['cleanup', NAME, value], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(custom(emulator, 'DELETE')).toBe(1);
    expect(txt(emulator, QNAME)).toEqual([UNRELATED]);
    expectNoDangerousRequests(emulator);
  });

  it('502s that never end: gives up after a bounded number of attempts, exit 1, nothing left behind', async ({ onTestFinished }) => {
    const { emulator, env } = await box(onTestFinished);
    const value = acmeValue();
    await runCli(['zones'], { env });
    emulator.clearLog();
    emulator.injectFaults(Array.from({ length: 20 }, (): Fault => ({ status: 502, match: { method: 'POST', pathPrefix: '/dns/custom/' } })));

    const started = Date.now();
    const result = await runCli(['present', '--no-wait', NAME, value], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/box-http.*HTTP 502 Bad Gateway \(the box is restarting or busy\)$/m);
    // nginx's page says its title twice and signs "nginx": the message says it once.
    expect(result.stderr).not.toMatch(/Bad Gateway.*Bad Gateway|nginx/);
    // 1 attempt + 4 retries, with 0.5 s..8 s jittered back-off: well under a minute.
    expect(custom(emulator, 'POST')).toBe(5);
    expect(Date.now() - started).toBeLessThan(45_000);
    // The failed present took back its journal entry (the DELETE got a 502 too, or landed).
    expect(txt(emulator, QNAME).filter((stored) => stored === value)).toHaveLength(0);
  }, 90_000);
});

describe.concurrent('a signal while the box answers 502s', () => {
  it('SIGTERM ends the back-off at once: exit 143 within about a second, the record it wrote removed', async ({ onTestFinished }) => {
    const { emulator, env } = await box(onTestFinished);
    const value = acmeValue();
    await runCli(['zones'], { env }); // log in first: the faults are for the write only
    emulator.clearLog();
    // The daemon saves the record, then nginx answers 502: each retry finds it there again.
    emulator.injectFaults(Array.from({ length: 20 }, (): Fault => ({ status: 502, afterApply: true, match: { method: 'POST', pathPrefix: '/dns/custom/' } })));
    let pid = 0;
    const run = runCli(['present', '--no-wait', NAME, value], { env, onSpawn: (spawned) => (pid = spawned) });
    try {
      const deadline = Date.now() + 20_000;
      while (custom(emulator, 'POST') < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(custom(emulator, 'POST')).toBe(2);
      expect(txt(emulator, QNAME)).toContain(value);
      // In the back-off before the third POST (1-2 s, then 2-4 s, ...).
      const signalled = Date.now();
      process.kill(pid, 'SIGTERM');
      const result = await run;
      expect(Date.now() - signalled).toBeLessThan(2_000);
      expect(result.code, result.stderr).toBe(143);
      expect(result.stderr).toContain('error [interrupted]: stopped by SIGTERM');
      expect(custom(emulator, 'POST')).toBe(2);
      expect(txt(emulator, QNAME)).toEqual([UNRELATED]);
      expectNoDangerousRequests(emulator);
    } finally {
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await run;
    }
  }, 60_000);
});

describe.concurrent('a wrong password', () => {
  it.for([
    ['with TOTP on', 'faults-0@example.test'],
    ['without TOTP', 'plain@example.test'],
  ] as const)('%s: exactly one login attempt, exit 2, a clear message, nothing written', async ([, email], { onTestFinished }) => {
    const { emulator, env } = await box(onTestFinished);
    const result = await runCli(['present', '--no-wait', NAME, acmeValue()], {
      env: { ...env, MIAB_EMAIL: email, MIAB_PASSWORD_FILE: '', MIAB_PASSWORD: 'Wrong-password-123' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error \[auth-invalid-credentials\]: the box refused the login for .*Incorrect email address or password.*Check MIAB_EMAIL and MIAB_PASSWORD.*Not retried/);
    expect(logins(emulator)).toHaveLength(1);
    expect(emulator.failedLogins).toBe(1);
    expect(emulator.requests.filter((request) => request.path.includes('/dns/'))).toEqual([]);
    expect(result.stderr).not.toContain('Wrong-password-123');
    expect(dnsWrites(emulator)).toEqual([]);
  });
});
