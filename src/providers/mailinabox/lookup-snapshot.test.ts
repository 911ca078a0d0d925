import { readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LookupSnapshot, type LookupSource } from './lookup-snapshot.js';
import { scratchDir } from '../../../test/fixtures/scratch.js';

function countingSource(): LookupSource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    zones: async () => (calls.push('zones'), ['example.test']),
    cnames: async () => (calls.push('cnames'), { '_acme-challenge.d.example.test': 'd.other.test' }),
  };
}

describe('LookupSnapshot', () => {
  it('reads the box once for all processes of one run, in a 0600 file', async () => {
    const stateDir = await scratchDir('lookups');
    const source = countingSource();
    const options = { stateDir, apiUrl: 'https://box.test/admin', ownerPid: 4242 };
    for (let process = 0; process < 3; process++) {
      const snapshot = new LookupSnapshot(source, options);
      expect(await snapshot.zones()).toEqual(['example.test']);
      expect((await snapshot.cnames())['_acme-challenge.d.example.test']).toBe('d.other.test');
    }
    expect(source.calls).toEqual(['zones', 'cnames']);
    const [file] = await readdir(join(stateDir, 'lookups'));
    expect((await stat(join(stateDir, 'lookups', file ?? ''))).mode & 0o777).toBe(0o600);
  });

  it('reads afresh for another run, after expiry, and after refresh()', async () => {
    const stateDir = await scratchDir('lookups');
    const source = countingSource();
    await new LookupSnapshot(source, { stateDir, apiUrl: 'u', ownerPid: 1 }).zones();
    await new LookupSnapshot(source, { stateDir, apiUrl: 'u', ownerPid: 2 }).zones();
    await new LookupSnapshot(source, { stateDir, apiUrl: 'u', ownerPid: 1, maxAgeMs: 0 }).zones();
    const refreshed = new LookupSnapshot(source, { stateDir, apiUrl: 'u', ownerPid: 1 });
    await refreshed.refresh();
    await refreshed.zones();
    expect(source.calls).toEqual(['zones', 'zones', 'zones', 'zones']);
  });

  it('removes expired snapshots of earlier runs', async () => {
    const stateDir = await scratchDir('lookups');
    const source = countingSource();
    await new LookupSnapshot(source, { stateDir, apiUrl: 'u', ownerPid: 1 }).zones();
    const old = join(stateDir, 'lookups', 'old.json');
    await writeFile(old, '{"takenAt":0}', { mode: 0o600 });
    await utimes(old, new Date(0), new Date(0));
    await new LookupSnapshot(source, { stateDir, apiUrl: 'u', ownerPid: 3 }).zones();
    expect(await readdir(join(stateDir, 'lookups'))).not.toContain('old.json');
  });
});
