/**
 * The native ACME driver end to end: Pebble validating through the LAGGING nsd secondary, the
 * box emulator with TOTP on, the library API and the `issue` command in child processes.
 */
import { X509Certificate } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPO, runCli, runProgram } from './fixtures/cli.js';
import { startTopology, TEST_PASSWORD, TEST_TOTP_SECRET, type Topology } from './fixtures/topology.js';
import { scratchDir } from './fixtures/scratch.js';

let topology: Topology;
let pebble: NonNullable<Topology['pebble']>;
let userIndex = 0;

// One box user per test: the box refuses a TOTP code it saw last from the same user.
const USERS = Array.from({ length: 12 }, (_, index) => ({ email: `issuer${index}@example.test`, password: TEST_PASSWORD, totpSecret: TEST_TOTP_SECRET }));

async function envFor(overrides: Record<string, string> = {}): Promise<Record<string, string>> {
  const user = USERS[userIndex++];
  if (user === undefined) throw new Error('add more test users');
  return topology.env({ MIAB_EMAIL: user.email, MIAB_STATE_DIR: join(topology.dir, `state-${user.email}`), NODE_EXTRA_CA_CERTS: pebble.caFile, ...overrides });
}

function challengeRecords(): string[] {
  return topology.emulator
    .records()
    .filter((record) => record.rtype === 'TXT' && record.value !== 'unrelated-value')
    .map((record) => `${record.qname} ${record.value}`);
}

function names(pem: string): string[] {
  return (new X509Certificate(pem).subjectAltName ?? '')
    .split(', ')
    .map((entry) => entry.replace(/^DNS:/, ''))
    .sort();
}

function writes(): { method: string; path: string; body: string }[] {
  return topology.emulator.requests.filter((request) => request.path.includes('/dns/custom') && request.method !== 'GET');
}

beforeAll(async () => {
  topology = await startTopology({
    pebble: true,
    lagMs: 2500,
    users: USERS,
    records: [{ qname: '_acme-challenge.a.example.test', rtype: 'TXT', value: 'unrelated-value' }],
  });
  if (topology.pebble === undefined) throw new Error('Pebble did not start');
  pebble = topology.pebble;
});

afterAll(async () => {
  await topology?.stop();
});

beforeEach(() => {
  topology.emulator.clearLog();
});

describe('miab-dns01 issue', () => {
  it('issues wildcard + apex through the real CLI, writing the four files as one set (archive/ + live/) with a 0600 key', async () => {
    const out = await scratchDir('issue');
    const env = await envFor();
    const result = await runCli(['issue', '--agree-tos', '--email', 'ops@example.test', '--server', pebble.directoryUrl, '-d', 'a.example.test', '-d', '*.a.example.test', '--out', out], { env });
    expect(result.stderr).toContain('order created');
    expect(result.stderr).toContain('waiting for 2 record(s)');
    expect(result.code).toBe(0);
    // The documented paths are links into live/ -> archive/1/, the complete set of this run.
    expect((await readdir(out)).sort()).toEqual(['archive', 'cert.pem', 'chain.pem', 'fullchain.pem', 'live', 'privkey.pem']);
    expect((await readdir(join(out, 'archive', '1'))).sort()).toEqual(['cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem']);
    expect((await stat(join(out, 'privkey.pem'))).mode & 0o777).toBe(0o600);
    const cert = await readFile(join(out, 'cert.pem'), 'utf8');
    expect(names(cert)).toEqual(['*.a.example.test', 'a.example.test']);
    await pebble.verifyIssued(await readFile(join(out, 'fullchain.pem'), 'utf8'));
    expect(await readFile(join(out, 'fullchain.pem'), 'utf8')).toBe(`${cert}${await readFile(join(out, 'chain.pem'), 'utf8')}`);
    // Both values were written once, removed once; the unrelated value survived.
    expect(writes().map((request) => request.method).sort()).toEqual(['DELETE', 'DELETE', 'POST', 'POST']);
    expect(challengeRecords()).toEqual([]);
    expect(topology.emulator.records()).toContainEqual(expect.objectContaining({ qname: '_acme-challenge.a.example.test', value: 'unrelated-value' }));
    expect(topology.emulator.requests.filter((request) => request.path.endsWith('/login'))).toHaveLength(1);
    expect(`${result.stdout}${result.stderr}`).not.toContain(TEST_PASSWORD);
    expect(`${result.stdout}${result.stderr}`).not.toContain(TEST_TOTP_SECRET);
  });

  it('issues a two-zone order, and skips or re-issues with --renew-within (the deploy hook sees no secret)', async () => {
    const out = await scratchDir('issue');
    // A serve client's password set beside the box's: the deploy hook must see neither.
    const env = await envFor({ MIAB_PASSWORD: TEST_PASSWORD, MIAB_DNS01_SERVE_PASSWORD: 'serve-client-secret-0123' });
    const args = ['issue', '--agree-tos', '--server', pebble.directoryUrl, '-d', 'two.example.test', '-d', 'two.other.test', '--out', out];
    expect((await runCli(args, { env })).code).toBe(0);
    const first = await readFile(join(out, 'cert.pem'), 'utf8');
    expect(names(first)).toEqual(['two.example.test', 'two.other.test']);

    // Pebble's certificates live for years: within 30 days nothing is due.
    topology.emulator.clearLog();
    const skipped = await runCli([...args, '--renew-within', '30'], { env });
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toMatch(/expires in [\d.]+ days \(more than 30\): nothing to do/);
    expect(await readFile(join(out, 'cert.pem'), 'utf8')).toBe(first);
    expect(topology.emulator.requests).toEqual([]);

    // Asking to renew within more days than it has left: a new certificate replaces it.
    const reissued = await runCli([...args, '--renew-within', '100000', '--deploy-hook', 'printf "%s|%s" "$MIAB_DOMAINS" "$MIAB_CERT_PATH" > "$MIAB_CERT_DIR/deployed"; env > "$MIAB_CERT_DIR/hook-env"'], { env });
    expect(reissued.code).toBe(0);
    expect(reissued.stderr).toMatch(/renewing: it expires in/);
    expect(await readFile(join(out, 'cert.pem'), 'utf8')).not.toBe(first);
    expect(await readFile(join(out, 'deployed'), 'utf8')).toBe(`two.example.test two.other.test|${join(out, 'cert.pem')}`);
    const hookEnv = await readFile(join(out, 'hook-env'), 'utf8');
    expect(hookEnv).toContain(`MIAB_CERT_DIR=${out}`);
    for (const secret of [TEST_PASSWORD, TEST_TOTP_SECRET, 'serve-client-secret-0123']) expect(hookEnv).not.toContain(secret);
    expect(hookEnv).not.toMatch(/^(MIAB_PASSWORD|MIAB_DNS01_SERVE_PASSWORD)=/m);
    expect(challengeRecords()).toEqual([]);
  });

  it('reuses the account key kept in the state dir', async () => {
    const env = await envFor();
    for (let run = 0; run < 2; run++) {
      expect((await runCli(['issue', '--agree-tos', '--server', pebble.directoryUrl, '-d', 'acct.example.test', '--out', await scratchDir('issue')], { env })).code).toBe(0);
    }
    const accounts = await readdir(join(env.MIAB_STATE_DIR ?? '', 'acme'));
    expect(accounts.filter((file) => file.endsWith('.pem'))).toHaveLength(1);
    const [key] = accounts.filter((file) => file.endsWith('.pem'));
    expect((await stat(join(env.MIAB_STATE_DIR ?? '', 'acme', key ?? ''))).mode & 0o777).toBe(0o600);
  });

  it('a name outside the box fails before any ACME order exists, exit 2', async () => {
    const env = await envFor();
    const out = await scratchDir('issue');
    const result = await runCli(['issue', '--agree-tos', '--server', pebble.directoryUrl, '-d', 'a.example.test', '-d', 'www.elsewhere.test', '--out', out], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/zone-not-found.*www\.elsewhere\.test.*example\.test, other\.test/);
    expect(result.stderr).not.toContain('order created');
    expect(writes()).toEqual([]);
    // No ACME account was even created: the CA never heard of this run.
    await expect(readdir(join(env.MIAB_STATE_DIR ?? '', 'acme'))).rejects.toThrow();
    expect(await readdir(out)).toEqual([]);
  });

  it('an authorization made invalid (record removed behind our back) gives a clear error and leaves no record', async () => {
    // Skip the check and sleep instead, so the test can remove the record during the sleep.
    const env = await envFor({ MIAB_PROPAGATION_WAIT: '3' });
    const out = await scratchDir('issue');
    topology.emulator.setSecondaryLag(0);
    const removeBehindOurBack = (async () => {
      // Up to 60 s: on a loaded CI machine the run's login and order can take longer than 10 s.
      for (let tries = 0; tries < 1200; tries++) {
        const record = topology.emulator.records().find((entry) => entry.qname === '_acme-challenge.gone.example.test');
        if (record) {
          const response = await fetch(`${topology.emulator.url}/dns/custom/${record.qname}/TXT`, {
            method: 'DELETE',
            body: record.value,
            headers: { authorization: `Basic ${Buffer.from(`${topology.emulator.systemKey}:`).toString('base64')}` },
          });
          return response.status;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return 0;
    })();
    try {
      const result = await runCli(['issue', '--agree-tos', '--server', pebble.directoryUrl, '-d', 'gone.example.test', '--out', out], { env });
      expect(await removeBehindOurBack).toBe(200);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/acme-failed.*refused.*(TXT|record)/i);
      expect(result.stderr).toMatch(/NOT checking the nameservers/);
      expect(challengeRecords()).toEqual([]);
      expect(await readdir(out)).toEqual([]);
    } finally {
      topology.emulator.setSecondaryLag(2500);
    }
  });
});

describe('library API', () => {
  it('issueCertificate() returns key, certificate and chain for wildcard + apex', async () => {
    const env = await envFor();
    const dir = await scratchDir('lib');
    const script = join(dir, 'issue.mjs');
    await writeFile(
      script,
      `import { issueCertificate, isMiabDns01Error } from ${JSON.stringify(`${REPO}dist/index.js`)};
const result = await issueCertificate({
  domains: ['lib.example.test', '*.lib.example.test'],
  directoryUrl: process.env.DIRECTORY_URL,
  termsOfServiceAgreed: true,
  keyType: 'ec-p384',
});
console.log(JSON.stringify(result));
`,
    );
    const result = await runProgram([process.execPath, script], { env: { ...env, DIRECTORY_URL: pebble.directoryUrl } });
    expect(result.code).toBe(0);
    const issued = JSON.parse(result.stdout) as { privateKey: string; certificate: string; chain: string; fullchain: string };
    expect(issued.privateKey).toContain('PRIVATE KEY');
    expect(names(issued.certificate)).toEqual(['*.lib.example.test', 'lib.example.test']);
    expect(new X509Certificate(issued.certificate).publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    expect(issued.fullchain).toBe(`${issued.certificate}${issued.chain}`);
    await pebble.verifyIssued(issued.fullchain);
    expect(challengeRecords()).toEqual([]);
  });
});
