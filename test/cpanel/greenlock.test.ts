/**
 * The Greenlock / ACME.js plugin (`miab-dns01/greenlock`) on the cPanel provider, against the
 * ecosystem's own harness (acme-dns-01-test), in each auth mode: the adapter reads zones and
 * values through the provider interface only, so the same plugin serves a cPanel account when
 * MIAB_DNS01_PROVIDER=cpanel (or the plugin's `provider` option) says so.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GreenlockPluginOptions } from '../../src/adapters/greenlock/index.js';
import { txtAt } from '../clients/harness.js';
import { AUTH_MODES, expectAccountClean, startCpanelTopology, writes, type CpanelTopology } from './topology.js';

const require = createRequire(import.meta.url);
const tester = require('acme-dns-01-test') as { testZone(type: 'dns-01', zone: string, plugin: unknown): Promise<void> };

let topology: CpanelTopology;

beforeAll(async () => {
  topology = await startCpanelTopology('greenlock', { lagMs: 1500 });
});

afterAll(async () => {
  await topology?.stop();
});

describe('acme-dns-01-test testZone on cPanel', () => {
  for (const mode of AUTH_MODES) {
    it(`passes in ${mode} mode, set() returning only once both nameservers serve the value`, async () => {
      const run = await topology.newRun(`greenlock-${mode}`, mode);
      const { create } = await import('miab-dns01/greenlock');
      // The provider as the plugin's option (token mode) or from the environment (the others).
      const { MIAB_DNS01_PROVIDER: _provider, ...withoutProvider } = run.env;
      const options: GreenlockPluginOptions = mode === 'token' ? { env: withoutProvider, provider: 'cpanel' } : { env: run.env };
      const plugin = create(options);
      const served: string[] = [];
      const set: typeof plugin.set = async (request) => {
        const result = await plugin.set(request);
        const name = request.challenge?.dnsHost ?? '';
        for (const server of [topology.primaryAddress, topology.secondaryAddress]) expect(await txtAt(`${server}:${topology.dnsPort}`, name)).toContain(request.challenge?.dnsAuthorization);
        served.push(name);
        return result;
      };
      await tester.testZone('dns-01', 'example.test', { ...plugin, init: plugin.init, zones: plugin.zones, get: plugin.get, remove: plugin.remove, set });
      expect(served).toHaveLength(3);
      expect(writes(run.emulator)).toEqual({ adds: 3, removes: 3 });
      await expectAccountClean(run);
    });
  }
});
