/**
 * docker-compose.test.yml stays valid: Debian's docker-compose (1.29) validates and normalizes
 * it without a Docker engine (`config`), and the result names the services docs/development.md and
 * the file's comments promise. A missing docker-compose fails with its install command.
 *
 * There is no engine here, so the second test runs what the services run (test/docker's entry
 * scripts: certs, emulator + zone writer, two nsd, pebble) as plain processes on loopback
 * addresses and issues a certificate through them with the real CLI, as the `issue`
 * service does.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO, runCli } from './fixtures/cli.js';
import { freePort, loopbackAddress } from './fixtures/net.js';
import { sharedFreePort } from './fixtures/nsd.js';
import { httpsGet } from './fixtures/pebble.js';
import { requireBinary } from './fixtures/system.js';
import { TEST_EMAIL, TEST_PASSWORD, TEST_TOTP_SECRET } from './fixtures/topology.js';
import { scratchDir } from './fixtures/scratch.js';

const execFileAsync = promisify(execFile);
const COMPOSE_FILE = join(REPO, 'docker-compose.test.yml');

/**
 * The `services:` section of `docker-compose config` output (PyYAML, two-space indent): each
 * service name with the lines of its block. Enough for normalized output, not general YAML.
 */
function servicesOf(yaml: string): Map<string, string[]> {
  const services = new Map<string, string[]>();
  let inServices = false;
  let current: string[] | undefined;
  for (const line of yaml.split('\n')) {
    if (/^\S/.test(line)) {
      inServices = line.trimEnd() === 'services:';
      current = undefined;
      continue;
    }
    if (!inServices) continue;
    const name = /^ {2}([A-Za-z0-9._-]+):\s*$/.exec(line)?.[1];
    if (name !== undefined) {
      current = [];
      services.set(name, current);
    } else {
      current?.push(line);
    }
  }
  return services;
}

/** `key: value` at the service's top level (four spaces in). */
function field(block: readonly string[], key: string): string | undefined {
  for (const line of block) {
    const match = new RegExp(`^ {4}${key}: (.*)$`).exec(line);
    if (match) return match[1]?.replace(/^'(.*)'$/, '$1');
  }
  return undefined;
}

describe('docker-compose.test.yml', () => {
  it('is valid for docker-compose and names the topology, the issue client and the test runner', async () => {
    const compose = requireBinary('docker-compose');
    const { stdout } = await execFileAsync(compose, ['-f', COMPOSE_FILE, 'config'], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/nonexistent' },
      timeout: 60_000,
    });
    const services = servicesOf(stdout);
    expect([...services.keys()].sort()).toEqual(
      ['certs', 'emulator', 'issue', 'nsd-primary', 'nsd-secondary', 'pebble', 'tests'].sort(),
    );

    // The suite runs with loopback only, like CI's `unshare -n`.
    const tests = services.get('tests') ?? [];
    expect(field(tests, 'network_mode')).toBe('none');
    expect(tests.join('\n')).toMatch(/command:\n\s+- npm\n\s+- test\n/);

    // The emulator listens off loopback only because it is told to.
    expect(services.get('emulator')?.join('\n')).toMatch(/MIAB_EMU_ALLOW_NON_LOOPBACK: '1'/);

    // Every Dockerfile a service builds from exists.
    for (const [name, block] of services) {
      const text = block.join('\n');
      const context = /\n? {6}context: (.+)/.exec(text)?.[1];
      const dockerfile = / {6}dockerfile: (.+)/.exec(text)?.[1];
      expect(context, `${name} has a build context`).toBeDefined();
      expect(existsSync(join(context ?? '', dockerfile ?? 'Dockerfile')), `${name}: ${dockerfile} in ${context}`).toBe(true);
    }
  });
});

describe('the docker-compose services\' entry scripts, run as loopback processes', () => {
  const processes: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    // Each runs in its own process group: the sh entries' nsd and pebble go with them.
    const alive = (p: ChildProcess): boolean => p.exitCode === null && p.signalCode === null;
    const signalGroup = (p: ChildProcess, signal: NodeJS.Signals): void => {
      try {
        if (p.pid !== undefined) process.kill(-p.pid, signal);
      } catch {
        // gone
      }
    };
    for (const p of processes) signalGroup(p, 'SIGTERM');
    for (let i = 0; i < 50 && processes.some(alive); i++) await sleep(100);
    for (const p of processes) signalGroup(p, 'SIGKILL');
    processes.length = 0;
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('issue a wildcard + apex certificate the way the issue service does', async () => {
    for (const program of ['nsd', 'nsd-control', 'pebble', 'openssl']) requireBinary(program);
    const dir = await scratchDir('compose');
    dirs.push(dir);
    const certs = join(dir, 'certs');
    const path = process.env.PATH ?? '/usr/bin:/bin';
    /** Output of every service that exited with an error, for the failure message. */
    const logs: string[] = [];
    const start = (name: string, argv: readonly string[], env: Record<string, string>): ChildProcess => {
      const [file = '', ...args] = argv;
      const child = spawn(file, args, { cwd: REPO, env: { PATH: path, HOME: dir, TMPDIR: dir, ...env }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      let log = '';
      child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
      child.once('exit', (code) => {
        if (code !== 0 && code !== null) logs.push(`${name} exited ${code}:\n${log}`);
      });
      processes.push(child);
      return child;
    };

    await promisify(execFile)('sh', [join(REPO, 'test/docker/make-certs.sh')], { env: { PATH: path, CERTS_DIR: certs } });
    const [ns1, ns2] = [loopbackAddress(), loopbackAddress()];
    const dnsPort = await sharedFreePort([ns1, ns2]);
    const emulatorPort = await freePort();
    const [pebblePort, managementPort] = [await freePort(), await freePort()];
    start('emulator', [process.execPath, '--import', 'tsx', 'test/docker/emulator-entry.ts'], {
      MIAB_EMU_HOST: '127.0.0.1',
      MIAB_EMU_PORT: String(emulatorPort),
      MIAB_EMU_ZONES: 'example.test,other.test',
      MIAB_EMU_NAMESERVERS: 'ns1.box.example.test,ns2.box.example.test',
      MIAB_EMU_USERS: `${TEST_EMAIL}:${TEST_PASSWORD}:${TEST_TOTP_SECRET}`,
      MIAB_EMU_CONFIG: JSON.stringify({
        records: [
          { qname: 'ns1.box.example.test', rtype: 'A', value: ns1 },
          { qname: 'ns2.box.example.test', rtype: 'A', value: ns2 },
        ],
      }),
      MIAB_EMU_TLS_KEY_FILE: join(certs, 'emulator.key'),
      MIAB_EMU_TLS_CERT_FILE: join(certs, 'emulator.pem'),
      ZONES_DIR: join(dir, 'zones'),
      SECONDARY_LAG_MS: '2000',
    });
    for (const [role, address] of [['primary', ns1], ['secondary', ns2]] as const) {
      start(`nsd-${role}`, ['sh', 'test/docker/nsd-entry.sh'], {
        NSD_ZONE_DIR: join(dir, 'zones', role),
        NSD_LISTEN: address ?? '',
        NSD_PORT: String(dnsPort),
        NSD_RUN_DIR: join(dir, `run-${role}`),
      });
    }
    start('pebble', ['sh', 'test/docker/pebble-entry.sh'], {
      CERTS_DIR: certs,
      PEBBLE_DNS_SERVER: `${ns2}:${dnsPort}`,
      PEBBLE_LISTEN: '127.0.0.1',
      PEBBLE_PORT: String(pebblePort),
      PEBBLE_MANAGEMENT_PORT: String(managementPort),
      PEBBLE_RUN_DIR: join(dir, 'pebble'),
    });

    // What the healthchecks wait for: both nsd answer nsd-control, Pebble serves its directory.
    const ca = await readFile(join(certs, 'ca.pem'), 'utf8');
    const directoryUrl = `https://127.0.0.1:${pebblePort}/dir`;
    const ready = async (): Promise<boolean> => {
      for (const role of ['primary', 'secondary']) {
        const conf = join(dir, `run-${role}`, 'nsd.conf');
        if (!existsSync(conf)) return false;
        const ok = await promisify(execFile)('nsd-control', ['-c', conf, 'status'], { env: { PATH: path } }).then(() => true, () => false);
        if (!ok) return false;
      }
      return httpsGet(directoryUrl, ca, 1_000).then((r) => r.status === 200, () => false);
    };
    const deadline = Date.now() + 30_000;
    while (!(await ready())) {
      expect(logs, 'a service exited').toEqual([]);
      expect(Date.now() < deadline, 'the services did not come up in 30 s').toBe(true);
      await sleep(200);
    }

    const out = join(dir, 'out');
    const result = await runCli(
      ['issue', '--agree-tos', '--email', 'demo@example.test', '--server', directoryUrl, '-d', 'demo.example.test', '-d', '*.demo.example.test', '--out', out],
      {
        env: {
          HOME: dir,
          MIAB_URL: `https://127.0.0.1:${emulatorPort}/admin`,
          MIAB_CA_FILE: join(certs, 'ca.pem'),
          MIAB_EMAIL: TEST_EMAIL,
          MIAB_PASSWORD: TEST_PASSWORD,
          MIAB_TOTP_SECRET: TEST_TOTP_SECRET,
          MIAB_DNS_RESOLVERS: `${ns1}:${dnsPort}`,
          MIAB_DNS_PORT: String(dnsPort),
          MIAB_PROPAGATION_TIMEOUT: '60',
          MIAB_STATE_DIR: join(dir, 'state'),
          NODE_EXTRA_CA_CERTS: join(certs, 'ca.pem'),
        },
        timeoutMs: 100_000,
      },
    );
    expect(result.code, `${result.stderr}\n${logs.join('\n')}`).toBe(0);
    // The secondary really lagged: the CLI had to wait for it.
    expect(result.stderr).toMatch(/waiting for 1 of 2 nameservers: ns2\.box\.example\.test/);
    const cert = new X509Certificate(await readFile(join(out, 'cert.pem'), 'utf8'));
    expect(cert.subjectAltName).toBe('DNS:demo.example.test, DNS:*.demo.example.test');
  });
});
