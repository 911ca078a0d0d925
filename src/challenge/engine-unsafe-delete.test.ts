/**
 * "Unsafe to delete here" is the provider's statement, not the engine's knowledge of a host:
 * a third party's store that marks its error with `unsafeToDelete` gets the same undo as the
 * fork of Mail-in-a-Box (no DELETE, records kept journaled), in the provider's words and with
 * the host named as the provider names it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChallengeEngine, Journal, MiabDns01Error, type Logger, type TxtRecordStore } from '../index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const UNSAFE = { reason: 'the zone is in bulk mode, where a removal drops every value at the name', fix: 'Switch the zone to record mode in the my-dns console.' };

describe('a provider-written "unsafe to delete here"', () => {
  it('leaves the refused removal journaled and warns in the provider\'s words naming its host', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'engine-unsafe-'));
    dirs.push(dir);
    const held = new Map<string, string[]>();
    const deletes: string[] = [];
    let appends = 0;
    const store: TxtRecordStore = {
      zones: async () => ['example.org'],
      txtValues: async (name) => held.get(name) ?? [],
      cnameTarget: async () => undefined,
      appendTxt: async (name, value) => {
        appends += 1;
        if (appends === 2) throw new MiabDns01Error('unsafe-to-delete', 'my-dns refused the second value in bulk mode', { unsafeToDelete: UNSAFE });
        held.set(name, [...(held.get(name) ?? []), value]);
      },
      deleteTxt: async (name, value) => {
        deletes.push(`${name} ${value}`);
        throw new MiabDns01Error('unsafe-to-delete', `not removing TXT ${name}: bulk mode`, { unsafeToDelete: UNSAFE });
      },
    };
    const warnings: string[] = [];
    const log: Logger = { info: () => undefined, debug: () => undefined, warn: (line) => warnings.push(line) };
    const journal = new Journal(dir);
    const engine = new ChallengeEngine({ store, journal, apiUrl: 'my-dns:acct', host: 'my-dns account', waitForRecords: async () => undefined, log });
    await expect(engine.present([{ name: 'example.org', value: 'first-value' }, { name: '*.example.org', value: 'second-value' }], { wait: false })).rejects.toMatchObject({ code: 'unsafe-to-delete' });
    expect(held.get('_acme-challenge.example.org')).toEqual(['first-value']);
    expect((await journal.list('my-dns:acct')).map((entry) => entry.value)).toEqual(['first-value']);
    const warning = warnings.find((line) => line.startsWith('could not undo safely'));
    expect(warning).toBe(
      'could not undo safely: the zone is in bulk mode, where a removal drops every value at the name, so no DELETE was sent. Left on the my-dns account and in the journal: TXT _acme-challenge.example.org "first-value". Switch the zone to record mode in the my-dns console, then run "miab-dns01 cleanup --stale"',
    );
    expect(warnings.join('\n')).not.toMatch(/\bbox\b|MIAB_FLAVOR|Power Mail-in-a-Box/);
    expect(deletes).toEqual(['_acme-challenge.example.org first-value']);
  });
});
