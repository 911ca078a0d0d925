/**
 * The loopback topology for end-to-end runs on the cPanel provider: a real nsd primary (fed
 * inside each write) and a real nsd secondary (fed DEFAULT_LAG_MS, 1 s, later), Pebble validating through the
 * LAGGING secondary, and per client run a fresh cPanel emulator publishing into them (a fresh
 * account: its own request log, login count and one-time-code replay memory), so every run
 * starts from the same zones: one partner TXT value at `_acme-challenge.a.example.test`,
 * written relative as another tool would, which must survive every run.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { installNodeRecorder } from '../clients/harness.js';
import { startCpanelEmulator, type CpanelEmulator } from '../cpanel-emulator/server.js';
import type { SeedRecord } from '../cpanel-emulator/zone.js';
import { freePort, loopbackAddress } from '../fixtures/net.js';
import { NsdServer } from '../fixtures/nsd.js';
import { startPebble, type Pebble } from '../fixtures/pebble.js';
import { scratchDir } from '../fixtures/scratch.js';
import { DEFAULT_LAG_MS } from '../fixtures/topology.js';

export type AuthMode = 'token' | 'otp-header' | 'session';
export const AUTH_MODES: readonly AuthMode[] = ['token', 'otp-header', 'session'];

/** Distinctive secrets: asserted absent from every output, argv and file. */
export const CPANEL_USER = 'alice';
export const CPANEL_PASSWORD = 'Cp-d1st1nct1ve-Passw0rd-0815';
export const CPANEL_TOTP_SECRET = 'JBSWY3DPEHPK3PXPCPANELTOTPSECRET';
export const CPANEL_TOKEN = 'CPTOKEN0D1ST1NCT1VE0123456789XYZ';

export const ZONES = ['example.test', 'other.test'] as const;
export const PARTNER_NAME = '_acme-challenge.a.example.test';
export const PARTNER_VALUE = 'partner-value_written-by-another-tool';
const PARTNER: SeedRecord = { zone: 'example.test', dname: '_acme-challenge.a', recordType: 'TXT', data: [PARTNER_VALUE] };

export interface CpanelRun {
  readonly label: string;
  readonly mode: AuthMode;
  readonly emulator: CpanelEmulator;
  /** The account name (stands where the box suites have the e-mail address). */
  readonly email: string;
  readonly stateDir: string;
  readonly workDir: string;
  readonly argvLog: string;
  /** The environment the client and hooks get: the provider chosen by MIAB_DNS01_PROVIDER, secrets as _FILE. */
  readonly env: Record<string, string>;
  /** The secrets of this mode, and the Basic credential carrying the password. */
  readonly secrets: readonly string[];
}

export interface CpanelTopology {
  readonly primary: NsdServer;
  readonly secondary: NsdServer;
  readonly pebble: Pebble;
  readonly dnsPort: number;
  readonly primaryAddress: string;
  readonly secondaryAddress: string;
  readonly root: string;
  readonly shimDir: string;
  /** A fresh emulator (the previous one is stopped) and a fresh state and work dir. */
  newRun(label: string, mode: AuthMode): Promise<CpanelRun>;
  stop(): Promise<void>;
}

export async function startCpanelTopology(name: string, options: { lagMs?: number } = {}): Promise<CpanelTopology> {
  const root = await scratchDir(`cpanel-e2e-${name}`);
  const stoppers: (() => Promise<void>)[] = [];
  let emulator: CpanelEmulator | undefined;
  const stop = async (): Promise<void> => {
    await emulator?.stop().catch(() => undefined);
    for (const stopper of stoppers.reverse()) await stopper().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const dnsPort = await freePort('127.0.0.1');
    const primaryAddress = loopbackAddress();
    const secondaryAddress = loopbackAddress();
    const primary = await NsdServer.start({ address: primaryAddress, port: dnsPort, zones: [...ZONES] });
    stoppers.push(() => primary.stop());
    const secondary = await NsdServer.start({ address: secondaryAddress, port: dnsPort, zones: [...ZONES] });
    stoppers.push(() => secondary.stop());
    const pebble = await startPebble({ dnsServer: `${secondaryAddress}:${dnsPort}` });
    stoppers.push(() => pebble.stop());
    const shimDir = await installNodeRecorder(join(root, 'bin'));
    const secrets = join(root, 'secrets');
    await mkdir(secrets, { mode: 0o700 });
    const files = { token: join(secrets, 'token'), password: join(secrets, 'password'), totp: join(secrets, 'totp') };
    await writeFile(files.token, `${CPANEL_TOKEN}\n`, { mode: 0o600 });
    await writeFile(files.password, `${CPANEL_PASSWORD}\n`, { mode: 0o600 });
    await writeFile(files.totp, `${CPANEL_TOTP_SECRET}\n`, { mode: 0o600 });
    let runs = 0;
    return {
      primary,
      secondary,
      pebble,
      dnsPort,
      primaryAddress,
      secondaryAddress,
      root,
      shimDir,
      async newRun(label, mode) {
        await emulator?.stop();
        emulator = await startCpanelEmulator({
          zones: ZONES,
          user: CPANEL_USER,
          password: CPANEL_PASSWORD,
          totpSecret: CPANEL_TOTP_SECRET,
          tokens: [{ token: CPANEL_TOKEN }],
          // otp-header runs with the WHM policy "API requests" on: every call needs its code.
          apiRequires2fa: mode === 'otp-header',
          records: [PARTNER],
          // The nameservers keep serving across runs: each new account's zones start at a higher serial.
          firstSerial: 2026113001 + (runs + 1) * 1000,
          dns: {
            primary,
            secondary: { publisher: secondary, lagMs: options.lagMs ?? DEFAULT_LAG_MS },
            nameservers: ['ns1.box.example.test', 'ns2.box.example.test'],
            glue: [
              { name: 'ns1.box.example.test', type: 'A', value: primaryAddress },
              { name: 'ns2.box.example.test', type: 'A', value: secondaryAddress },
            ],
          },
        });
        const dir = join(root, `${++runs}-${label}`);
        const stateDir = join(dir, 'state');
        const workDir = join(dir, 'client');
        await mkdir(workDir, { recursive: true });
        const argvLog = join(dir, 'node-argv.log');
        await writeFile(argvLog, '');
        const auth: Record<string, string> =
          mode === 'token'
            ? { CPANEL_TOKEN_FILE: files.token }
            : { CPANEL_AUTH: mode, CPANEL_PASSWORD_FILE: files.password, CPANEL_TOTP_SECRET_FILE: files.totp };
        return {
          label,
          mode,
          emulator,
          email: CPANEL_USER,
          stateDir,
          workDir,
          argvLog,
          env: {
            MIAB_DNS01_PROVIDER: 'cpanel',
            CPANEL_BASE_URL: emulator.url,
            CPANEL_USERNAME: CPANEL_USER,
            ...auth,
            MIAB_STATE_DIR: stateDir,
            MIAB_DNS_RESOLVERS: `${primaryAddress}:${dnsPort}`,
            MIAB_DNS_PORT: String(dnsPort),
            MIAB_PROPAGATION_TIMEOUT: '60',
            MIAB_TEST_ARGV_LOG: argvLog,
            PATH: `${shimDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
          },
          secrets: [CPANEL_TOKEN, CPANEL_PASSWORD, CPANEL_TOTP_SECRET, Buffer.from(`${CPANEL_USER}:${CPANEL_PASSWORD}`).toString('base64')],
        };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** TXT values at `_acme-challenge.*` names in the account's zones now, as `name value`. */
export function challengeTxt(emulator: CpanelEmulator): string[] {
  return ZONES.flatMap((zone) =>
    emulator
      .lines(zone)
      .flatMap((line) => (line.type === 'record' && line.recordType === 'TXT' ? [line] : []))
      .map((line) => {
        const owner = line.dname.endsWith('.') ? line.dname.slice(0, -1) : `${line.dname}.${zone}`;
        return `${owner.toLowerCase()} ${line.data.join('')}`;
      })
      .filter((entry) => entry.startsWith('_acme-challenge.')),
  );
}

/** The UAPI writes that succeeded: adds and removes by kind. */
export function writes(emulator: CpanelEmulator): { adds: number; removes: number } {
  const edits = emulator.requests.filter((request) => request.path.includes('/DNS/mass_edit_zone') && request.uapiStatus === 1);
  return {
    adds: edits.filter((request) => /[?&]add(-\d+)?=/.test(request.path)).length,
    removes: edits.filter((request) => /[?&]remove(-\d+)?=/.test(request.path)).length,
  };
}

/**
 * After a run: only the partner value left at a challenge name, the journal empty, and the
 * auth mode used as configured (token: the token header only; otp-header: a code on every
 * call; session: exactly one login, every call inside the session).
 */
export async function expectAccountClean(run: CpanelRun): Promise<void> {
  expect(challengeTxt(run.emulator)).toEqual([`${PARTNER_NAME} ${PARTNER_VALUE}`]);
  expect(await readdir(join(run.stateDir, 'journal')).catch(() => [])).toEqual([]);
  const calls = run.emulator.requests.filter((request) => request.path.includes('/execute/'));
  expect(calls.length).toBeGreaterThan(0);
  if (run.mode === 'token') for (const call of calls) expect(call.auth).toBe('token');
  if (run.mode === 'otp-header') for (const call of calls) expect([call.auth, /^\d{6}$/.test(call.otp ?? '')]).toEqual(['basic', true]);
  if (run.mode === 'session') {
    for (const call of calls) expect(call.auth).toBe('session');
    expect(run.emulator.counts.logins).toBe(1);
  }
  for (const call of calls) expect(call.status, `${call.method} ${call.path}`).toBe(200);
}
