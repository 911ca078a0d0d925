/** Hook processes of one run share the cPanel session (one login) and never replay a one-time code. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { harness, stopAll, type Mode } from './harness.js';

const run = promisify(execFile);
const child = fileURLToPath(new URL('./child.ts', import.meta.url));
const NAME = '_acme-challenge.example.test';

afterEach(stopAll);

async function threeProcesses(mode: Mode): Promise<Awaited<ReturnType<typeof harness>>> {
  const h = await harness(mode);
  // Secrets travel in the environment, never in argv.
  await Promise.all(
    ['one', 'two', 'three'].map((value) =>
      run(process.execPath, ['--import', 'tsx', child], { env: { ...process.env, ...h.env, TEST_STATE_DIR: h.stateDir, TEST_NAME: NAME, TEST_VALUE: value }, timeout: 60_000 }),
    ),
  );
  expect(h.emulator.txt(NAME).sort()).toEqual(['one', 'three', 'two']);
  return h;
}

describe('three hook processes at once', () => {
  it('session: one login shared through the cache', async () => {
    const h = await threeProcesses('session');
    expect(h.emulator.counts.logins).toBe(1);
    expect(h.emulator.counts.failedLogins).toBe(0);
  });

  it('otp-header: every request accepted, no code sent twice in a row', async () => {
    const h = await threeProcesses('otp-header');
    expect(h.emulator.requests.every((r) => r.status === 200)).toBe(true);
    const codes = h.emulator.requests.map((r) => r.otp);
    for (let i = 1; i < codes.length; i++) expect(codes[i]).not.toBe(codes[i - 1]);
  });
});
