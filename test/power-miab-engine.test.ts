/**
 * The engine's undo when the box turns out to speak the Power Mail-in-a-Box dialect: the box
 * client refuses every DELETE, and the engine reports (and keeps journaled) what it left,
 * instead of wiping the names. Wired with the real box client over a scripted transport.
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../src/providers/mailinabox/types.js';
import { BoxClient } from '../src/providers/mailinabox/client.js';
import type { BoxMethod, BoxResponse, Transport } from '../src/providers/mailinabox/transport.js';
import { Journal } from '../src/records/journal.js';
import type { TxtRecordStore } from '../src/records/store.js';
import type { Logger } from '../src/util/log.js';
import { ChallengeEngine } from '../src/challenge/engine.js';
import { scratchDir } from './fixtures/scratch.js';

const APEX = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
const WILDCARD = '-starts-with-a-dash_Zm9vYmFyYmF6cXV4cXV1eA';
const NAME = '_acme-challenge.example.test';
const FORK_REFUSAL: BoxResponse = { status: 400, headers: {}, text: 'No value for the record provided.' };

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/**
 * A box holding TXT values per name. `postAnswers` scripts the answers to successive POSTs
 * (a success adds the value); a DELETE would remove EVERY value of the name, as on the fork.
 */
function scriptedBox(postAnswers: ('ok' | 'fork-refusal')[]) {
  const txt = new Map<string, string[]>([[NAME, ['partner']]]);
  const sent: { method: BoxMethod; path: string }[] = [];
  const transport: Transport = {
    async send(method, url, _headers, body): Promise<BoxResponse> {
      const path = decodeURIComponent(new URL(url).pathname.replace(/^\/admin/, ''));
      sent.push({ method, path });
      const name = /^\/dns\/custom\/([^/]+)\/TXT$/.exec(path)?.[1] ?? '';
      if (method === 'GET') return { status: 200, headers: {}, text: JSON.stringify((txt.get(name) ?? []).map((value) => ({ qname: name, rtype: 'TXT', value }))) };
      if (method === 'DELETE') {
        txt.delete(name);
        return { status: 200, headers: {}, text: 'updated DNS: example.test\n' };
      }
      if (postAnswers.shift() === 'fork-refusal') return FORK_REFUSAL;
      txt.set(name, [...(txt.get(name) ?? []), body ?? '']);
      return { status: 200, headers: {}, text: 'updated DNS: example.test\n' };
    },
    async close() {},
  };
  const client = new BoxClient({ apiUrl: 'https://box.test/admin', transport, log: { info: () => undefined, warn: () => undefined, debug: () => undefined }, retry: { retries: 0 } });
  const auth: Authenticator = { mode: 'session', authorization: async () => 'Basic x', refreshAfterRejection: async () => undefined };
  client.useAuthenticator(auth);
  const store: TxtRecordStore = {
    zones: async () => ['example.test'],
    txtValues: (name) => client.records(name, 'TXT'),
    cnameTarget: async () => undefined,
    appendTxt: (name, value) => client.addRecord(name, 'TXT', value),
    deleteTxt: (name, value) => client.removeRecord(name, 'TXT', value),
  };
  return { txt, sent, store };
}

async function engineFor(store: TxtRecordStore) {
  const dir = await scratchDir('engine-dialect');
  dirs.push(dir);
  const journal = new Journal(dir);
  const lines: string[] = [];
  const log: Logger = { info: (m) => void lines.push(m), warn: (m) => void lines.push(`warning: ${m}`), debug: () => undefined };
  const engine = new ChallengeEngine({ store, journal, apiUrl: 'https://box.test/admin', waitForRecords: async () => undefined, log, ownerPid: process.pid });
  return { engine, journal, lines };
}

const PAIR = [
  { name: '*.example.test', value: WILDCARD },
  { name: 'example.test', value: APEX },
];

describe('ChallengeEngine undo after a dialect mismatch', () => {
  it('the first POST refused: nothing else is sent (no second POST, no DELETE), nothing journaled, the partner stays', async () => {
    const box = scriptedBox(['fork-refusal']);
    const { engine, journal, lines } = await engineFor(box.store);
    await expect(engine.present(PAIR, { wait: false })).rejects.toMatchObject({ code: 'box-dialect-mismatch', exitCode: 2 });
    expect(box.sent.filter((request) => request.method !== 'GET')).toEqual([{ method: 'POST', path: `/dns/custom/${NAME}/TXT` }]);
    expect(box.txt.get(NAME)).toEqual(['partner']);
    expect(await journal.list()).toEqual([]);
    expect(engine.pendingWrites).toEqual([]);
    expect(lines.join('\n')).not.toContain('could not undo');
  });

  it('a later POST refused after an earlier one landed: the undo sends no DELETE, names what it left, and keeps it journaled', async () => {
    const box = scriptedBox(['ok', 'fork-refusal']);
    const { engine, journal, lines } = await engineFor(box.store);
    await expect(engine.present(PAIR, { wait: false })).rejects.toMatchObject({ code: 'box-dialect-mismatch', message: expect.stringContaining('MIAB_FLAVOR=power') });
    expect(box.sent.map((request) => request.method)).not.toContain('DELETE');
    // The DELETE would have wiped the partner too: both stay.
    expect(box.txt.get(NAME)).toEqual(['partner', WILDCARD]);
    expect((await journal.list()).map((entry) => entry.value)).toEqual([WILDCARD]);
    const warning = lines.find((line) => line.startsWith('warning: could not undo safely'));
    expect(warning).toBeDefined();
    expect(warning).toContain(`TXT ${NAME} "-starts-wi..."`);
    expect(warning).toContain('MIAB_FLAVOR=power');
    expect(warning).toContain('cleanup --stale');
  });
});
