import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // End-to-end suites start nsd, Pebble and the ACME clients on fixed loopback addresses:
    // running files one at a time keeps them from competing for the two cores.
    fileParallelism: false,
    reporters: ['default'],
    // A private TMPDIR per run, checked empty at the end; scratch dirs not tied to one test are
    // removed after each file's afterAll (test/fixtures/scratch.ts).
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/fixtures/scratch-setup.ts'],
  },
});
