/**
 * Ten ACME authorizations for one name at once (the apex plus wildcards of many certificates,
 * or parallel hook processes): ten `present` processes, each waiting for real until both nsd
 * servers (one lagging) serve its value, then ten `cleanup` processes. Every value must be
 * served together, one login must serve all twenty processes, and only the unrelated value
 * that was there before may remain.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryTxt } from '../../src/propagation/index.js';
import { startEmulator } from '../emulator/index.js';
import { runCli } from '../fixtures/cli.js';
import { startTopology, type Topology } from '../fixtures/topology.js';
import { acmeValue, adminUsers, boxEnv, dnsWrites, expectNoDangerousRequests, logins, scratch, txt } from './helpers.js';

const NAME = 'busy.example.test';
const QNAME = `_acme-challenge.${NAME}`;
const UNRELATED = 'pre-existing-unrelated-value';
const EMAIL = 'parallel-0@example.test';

let topology: Topology;

beforeAll(async () => {
  topology = await startTopology({
    lagMs: 1500,
    users: adminUsers('parallel-', 1),
    records: [{ qname: QNAME, rtype: 'TXT', value: UNRELATED }],
  });
});

afterAll(async () => {
  await topology?.stop();
});

async function served(address: string): Promise<string[]> {
  const result = await queryTxt({ host: address, port: topology.dnsPort }, QNAME, { timeoutMs: 2000 });
  return result.status === 'answer' ? [...result.values].sort() : [`<${result.status}>`];
}

describe('10 parallel presents and cleanups on one name', () => {
  it('every value is served by both nameservers together, one login for all, only the unrelated value left', async () => {
    const { primaryAddress, secondaryAddress, dnsPort, emulator } = topology;
    const env = await topology.env({
      MIAB_EMAIL: EMAIL,
      MIAB_STATE_DIR: join(topology.dir, 'parallel-state'),
      MIAB_NAMESERVERS: `${primaryAddress}:${dnsPort},${secondaryAddress}:${dnsPort}`,
      MIAB_PROPAGATION_TIMEOUT: '60',
    });
    // Half the values start with "-", as base64url values may.
    const values = Array.from({ length: 10 }, (_, index) => acmeValue(index % 2 === 0 ? '-' : ''));
    emulator.clearLog();

    const started = Date.now();
    const presents = await Promise.all(values.map((value) => runCli(['present', NAME, value], { env, timeoutMs: 90_000 })));
    const presentsTook = Date.now() - started;
    for (const result of presents) expect(result.code, result.stderr).toBe(0);

    // The moment every present has returned: the box and both nameservers hold all ten values.
    const everything = [UNRELATED, ...values].sort();
    expect(txt(emulator, QNAME).sort()).toEqual(everything);
    expect(await served(primaryAddress)).toEqual(everything);
    expect(await served(secondaryAddress)).toEqual(everything);
    // The wait was real: each present waited for the lagging secondary.
    expect(presents.every((result) => /all 2 nameservers serve the record/.test(result.stderr))).toBe(true);
    expect(presentsTook).toBeGreaterThanOrEqual(1500);
    // Journaled until cleanup: after a crash, "cleanup --stale" could still find them.
    expect(await readdir(join(env.MIAB_STATE_DIR ?? '', 'journal'))).toHaveLength(10);

    const cleanups = await Promise.all(values.map((value) => runCli(['cleanup', NAME, value], { env })));
    for (const result of cleanups) expect(result.code, result.stderr).toBe(0);

    expect(txt(emulator, QNAME)).toEqual([UNRELATED]);
    expect(await served(primaryAddress)).toEqual([UNRELATED]);
    await emulator.secondaryIdle();
    expect(await served(secondaryAddress)).toEqual([UNRELATED]);

    // Twenty processes, one password+TOTP login, no failed authentication at all.
    expect(logins(emulator)).toHaveLength(1);
    expect(emulator.failedLogins).toBe(0);
    expect(dnsWrites(emulator).map((request) => request.method).sort()).toEqual([...Array(10).fill('DELETE'), ...Array(10).fill('POST')]);
    expectNoDangerousRequests(emulator);
    expect(await readdir(join(env.MIAB_STATE_DIR ?? '', 'journal'))).toEqual([]);
  });
});

describe('a CNAME added on the box between two hook calls of one run', () => {
  it('the second present --no-wait sees it (fresh check at the write), refuses, and writes no TXT beside it', async ({ onTestFinished }) => {
    const emulator = await startEmulator({ zones: ['example.test', 'other.test'], users: adminUsers('cname-', 1) });
    const where = await scratch('cname-mid-run');
    onTestFinished(async () => {
      await emulator.stop();
      await rm(where.dir, { recursive: true, force: true });
    });
    const env = boxEnv(emulator, 'cname-0@example.test', where);
    // Both calls have this test process as their parent: one run, one lookup snapshot.
    const first = await runCli(['present', '--no-wait', 'one.example.test', acmeValue()], { env });
    expect(first.code, first.stderr).toBe(0);
    // Someone delegates two.example.test's challenge on the box meanwhile.
    const added = await fetch(`${emulator.url}/dns/custom/_acme-challenge.two.example.test/CNAME`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${emulator.systemKey}:`).toString('base64')}`, 'content-type': 'text/plain' },
      body: 'two.other.test',
    });
    expect(added.status).toBe(200);
    const second = await runCli(['present', '--no-wait', 'two.example.test', acmeValue()], { env });
    expect(second.code, second.stderr).toBe(2);
    expect(second.stderr).toContain('[cname-conflict]');
    expect(emulator.records().filter((record) => record.qname === '_acme-challenge.two.example.test').map((record) => record.rtype)).toEqual(['CNAME']);
    expect(dnsWrites(emulator).filter((request) => request.path.includes('_acme-challenge.two.example.test/TXT'))).toEqual([]);
  });
});

