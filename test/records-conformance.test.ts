/**
 * The record-store contract (src/records/conformance.ts) run against the box store talking to
 * the box emulator with TOTP on: the same suite the in-memory store passes. Each store gets a
 * fresh emulator (a box with no custom records) and a fresh state dir (its own login).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SessionAuthenticator } from '../src/auth/session.js';
import { BoxClient } from '../src/box/client.js';
import { BoxTransport } from '../src/box/transport.js';
import { BoxRecordStore } from '../src/records/box-store.js';
import { recordStoreConformance } from '../src/records/conformance.js';
import type { Logger } from '../src/util/log.js';
import { startEmulator, type MiabEmulator } from './emulator/index.js';
import { TEST_PASSWORD, TEST_TOTP_SECRET } from './fixtures/topology.js';
import { scratchDir } from './fixtures/scratch.js';

const silent: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const EMAIL = 'admin@example.test';
const opened: { emulator: MiabEmulator; client: BoxClient; dir: string }[] = [];

afterAll(async () => {
  for (const { emulator, client, dir } of opened) {
    await client.close();
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

async function boxStore(): Promise<{ store: BoxRecordStore; emulator: MiabEmulator }> {
  const emulator = await startEmulator({ zones: ['example.test', 'other.test'], users: [{ email: EMAIL, password: TEST_PASSWORD, totpSecret: TEST_TOTP_SECRET }] });
  const dir = await scratchDir('conformance');
  const transport = new BoxTransport({ tls: { caPem: undefined, fingerprint: undefined }, log: silent });
  const client = new BoxClient({ apiUrl: emulator.url, transport, log: silent });
  opened.push({ emulator, client, dir });
  client.useAuthenticator(
    new SessionAuthenticator({ credentials: { apiUrl: emulator.url, email: EMAIL, password: TEST_PASSWORD, totpSecret: TEST_TOTP_SECRET }, stateDir: dir, endpoint: client, log: silent }),
  );
  return { store: new BoxRecordStore(client, { stateDir: dir, apiUrl: emulator.url, ownerPid: process.pid }), emulator };
}

describe('BoxRecordStore against the box emulator (TOTP on)', () => {
  recordStoreConformance(async () => (await boxStore()).store);

  it('cnameTarget reads the box now, even when the run snapshot was taken before the CNAME existed', async () => {
    const { store, emulator } = await boxStore();
    expect(await store.cachedCnameTarget('_acme-challenge.late.example.test')).toBeUndefined();
    const added = await fetch(`${emulator.url}/dns/custom/_acme-challenge.late.example.test/CNAME`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${emulator.systemKey}:`).toString('base64')}`, 'content-type': 'text/plain' },
      body: 'late.other.test',
    });
    expect(added.status).toBe(200);
    expect(await store.cnameTarget('_acme-challenge.late.example.test')).toBe('late.other.test');
    // The snapshot learnt it too: later processes of the run follow the new CNAME.
    expect(await store.cachedCnameTarget('_acme-challenge.late.example.test')).toBe('late.other.test');
  });
});
