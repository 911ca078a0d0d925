/**
 * Starts a cPanel emulator and opens the cPanel provider against it in one auth mode, with a
 * private state dir; `stopAll` stops every emulator and removes every state dir it made.
 */
import { rm } from 'node:fs/promises';
import { loadConfig } from '../../src/config/config.js';
import { openCpanelProvider, parseCpanelConfig, type CpanelProvider, type CpanelProviderOptions } from '../../src/providers/cpanel/index.js';
import { openProvider, type DnsProvider } from '../../src/providers/index.js';
import type { Logger } from '../../src/util/log.js';
import { startCpanelEmulator, type CpanelEmulator, type CpanelEmulatorOptions } from '../cpanel-emulator/server.js';
import { scratchDir } from '../fixtures/scratch.js';

export const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
export const TOKEN = 'TOKEN0123456789ABCDEFGHIJKLMNOPQ';
export type Mode = 'token' | 'otp-header' | 'session';

export interface Harness {
  readonly emulator: CpanelEmulator;
  readonly stateDir: string;
  readonly env: Record<string, string>;
  readonly logs: string[];
  open(overrides?: Partial<CpanelProviderOptions>, env?: Record<string, string>): Promise<CpanelProvider>;
  /** Opens the provider the way the runtime does: `MIAB_DNS01_PROVIDER=cpanel` through the one-pass config and the registry. */
  openViaRegistry(env?: Record<string, string>): Promise<DnsProvider>;
}

const emulators: CpanelEmulator[] = [];
const dirs: string[] = [];
const providers: DnsProvider[] = [];

export function envFor(mode: Mode, url: string): Record<string, string> {
  const base = { CPANEL_BASE_URL: url, CPANEL_USERNAME: 'alice' };
  if (mode === 'token') return { ...base, CPANEL_TOKEN: TOKEN };
  return { ...base, CPANEL_AUTH: mode, CPANEL_PASSWORD: 'pw', CPANEL_TOTP_SECRET: SECRET };
}

export async function harness(mode: Mode, options: Partial<CpanelEmulatorOptions> = {}): Promise<Harness> {
  const emulator = await startCpanelEmulator({
    zones: ['example.test'],
    user: 'alice',
    password: 'pw',
    totpSecret: SECRET,
    tokens: [{ token: TOKEN }],
    // The OTP-header mode is tested where it matters: with the server policy on.
    apiRequires2fa: mode === 'otp-header',
    ...options,
  });
  emulators.push(emulator);
  const stateDir = await scratchDir('cpanel-test');
  dirs.push(stateDir);
  const env = envFor(mode, emulator.url);
  const logs: string[] = [];
  const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), debug: () => undefined };
  return {
    emulator,
    stateDir,
    env,
    logs,
    async open(overrides = {}, extraEnv = {}) {
      const provider = await openCpanelProvider(parseCpanelConfig({ ...env, ...extraEnv }), { stateDir, log, ...overrides });
      providers.push(provider);
      return provider;
    },
    async openViaRegistry(extraEnv = {}) {
      const { config, provider: providerConfig } = await loadConfig({ env: { ...env, ...extraEnv, MIAB_DNS01_PROVIDER: 'cpanel', MIAB_STATE_DIR: stateDir } });
      const provider = await openProvider(providerConfig, { stateDir: config.stateDir, log, ownerPid: process.pid });
      providers.push(provider);
      return provider;
    },
  };
}

export async function stopAll(): Promise<void> {
  await Promise.all(providers.splice(0).map((provider) => provider.close()));
  await Promise.all(emulators.splice(0).map((emulator) => emulator.stop()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}
