/**
 * vitest globalSetup: gives the run its own TMPDIR and fails the run if the tests left
 * anything in it (test/fixtures/run-tmp.ts says why it is scoped to the run).
 *
 * Entries that appear directly in the real temp dir under the suite's names are reported too:
 * they mean a path was hard-coded to /tmp, or a child process was started without TMPDIR. On a
 * shared machine they may come from a concurrent run, so they fail the run only where the
 * machine is ours alone (CI=true, or MIAB_TEST_STRICT_TMP=1), and are a warning elsewhere.
 */
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRunTmp, finishRunTmp, newTestEntries, testEntries } from './fixtures/run-tmp.js';

export default async function setup(): Promise<() => Promise<void>> {
  const base = tmpdir();
  const before = await testEntries(base);
  const runDir = await createRunTmp(base);
  const previous = process.env.TMPDIR;
  // Workers are forked after this, with this environment; os.tmpdir() reads TMPDIR on each call.
  process.env.TMPDIR = runDir;
  return async () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    await runAgentsEnded(runDir);
    const escaped = await newTestEntries(base, before);
    const problems: string[] = [];
    await finishRunTmp(runDir).catch((error: unknown) => problems.push(error instanceof Error ? error.message : String(error)));
    if (escaped.length > 0) {
      const message = `test-like temp entries appeared in ${base} during the run, outside the run's TMPDIR:\n  ${escaped.join('\n  ')}`;
      if (process.env.CI === 'true' || process.env.MIAB_TEST_STRICT_TMP === '1') problems.push(message);
      else console.warn(`warning: ${message}\n(they may belong to a concurrent run; MIAB_TEST_STRICT_TMP=1 makes this an error)`);
    }
    if (problems.length > 0) {
      // vitest 4 only logs an error thrown here ("error during close") and still exits 0:
      // the exit code has to be set by hand.
      process.exitCode = 1;
      throw new Error(problems.join('\n\n'));
    }
  };
}

/**
 * certbot's run agents (src/agent) end on their own within a quarter second of their certbot,
 * removing their socket directory: the last test's agent may still be ending. One that is
 * still there after 5 s is left for finishRunTmp to report.
 */
async function runAgentsEnded(runDir: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const entries = await readdir(runDir).catch(() => []);
    if (!entries.some((entry) => entry.startsWith('miab-dns01-'))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
