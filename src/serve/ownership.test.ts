/** Who wrote what through serve: per client and name, persisted (0600) across restarts. */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { scratchDir } from '../../test/fixtures/scratch.js';
import { WriteOwnership } from './ownership.js';

let stateDir: string;
beforeEach(async () => void (stateDir = await scratchDir('ownership')));
afterEach(async () => rm(stateDir, { recursive: true, force: true }));

it('keeps values per client and name, case and trailing dot ignored', async () => {
  let now = 1;
  const owned = new WriteOwnership(undefined, { now: () => now++ });
  await owned.recordWrite('web1', '_acme-challenge.a.test', 'v1');
  await owned.recordWrite('web1', '_ACME-challenge.a.test.', 'v2');
  await owned.recordWrite('web2', '_acme-challenge.a.test', 'v1');
  expect(owned.ownsValue('web1', '_acme-challenge.a.test.', 'v2')).toBe(true);
  expect(owned.ownsValue('web2', '_acme-challenge.a.test', 'v2')).toBe(false);
  expect(owned.valuesOwnedBy('web1', '_acme-challenge.a.test')).toEqual(['v1', 'v2']);
  expect(owned.otherOwners('web1', '_acme-challenge.a.test', 'v1')).toEqual(['web2']);
  expect(await owned.forgetWrite('web2', '_acme-challenge.a.test', 'v2')).toBe(false);
  expect(await owned.forgetWrite('web1', '_acme-challenge.a.test', 'v1')).toBe(true);
  expect(owned.valuesOwnedBy('web1', '_acme-challenge.a.test')).toEqual(['v2']);
  expect(owned.otherOwners('web2', '_acme-challenge.a.test', 'v1')).toEqual([]);
});

it('survives a restart in a 0600 file under the state dir', async () => {
  const first = new WriteOwnership(stateDir);
  await first.load();
  await first.recordWrite('web1', '_acme-challenge.a.test', 'v1');
  await first.recordWrite('web1', '_acme-challenge.a.test', 'v2');
  await first.forgetWrite('web1', '_acme-challenge.a.test', 'v2');
  const file = join(stateDir, 'serve', 'owned-values.json');
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  const second = new WriteOwnership(stateDir);
  await second.load();
  expect(second.valuesOwnedBy('web1', '_acme-challenge.a.test')).toEqual(['v1']);
});
