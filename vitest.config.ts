import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import LongestFirstSequencer from './bench/suite-sequencer.js';

/**
 * Files running at once. End-to-end files spend most of their time waiting (for a lagging
 * nameserver, Pebble, an ACME client's pauses), so more files than cores run at once; every
 * server a test starts picks its loopback address and ports at run time (test/fixtures/net.ts),
 * so files never share a port, a directory (scratchDir) or a zone. MIAB_TEST_WORKERS=1 runs
 * one file at a time.
 */
const workers = Number(process.env.MIAB_TEST_WORKERS ?? 4);

/** Fixtures and emulators checked against their own specs (the real nsd, Pebble, the box's API). */
const FIXTURE_FILES = ['test/fixtures/**/*.test.ts', 'test/emulator/**/*.test.ts', 'test/cpanel-emulator/**/*.test.ts'];

// Not `extends: true`: a project would inherit the root's globalSetup and run it again.
const shared = {
  testTimeout: 120_000,
  hookTimeout: 120_000,
  // Scratch dirs not tied to one test are removed after each file's afterAll (test/fixtures/scratch.ts).
  setupFiles: ['test/fixtures/scratch-setup.ts'],
} satisfies TestProjectInlineConfiguration['test'];

export default defineConfig({
  test: {
    ...shared,
    maxWorkers: workers,
    fileParallelism: workers > 1,
    // Longest files first across all projects (bench/test-durations.json): a clone has no cache.
    sequence: { sequencer: LongestFirstSequencer },
    reporters: ['default', './bench/suite-reporter.ts'],
    // A private TMPDIR per run, checked empty at the end (test/global-setup.ts); once per run.
    globalSetup: ['test/global-setup.ts'],
    projects: [
      { test: { ...shared, name: 'unit', include: ['src/**/*.test.ts'] } },
      { test: { ...shared, name: 'fixtures', include: FIXTURE_FILES } },
      { test: { ...shared, name: 'e2e', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...FIXTURE_FILES] } },
    ],
  },
});
