/**
 * A vitest reporter that says where the suite's time went: at the end of `npm test`, the
 * slowest files (each file's own wall time: set-up, import, hooks and tests) and the total per
 * project. With MIAB_TEST_DURATIONS_FILE=path it also writes every file's time there as JSON,
 * the table bench/suite-sequencer.ts orders the next runs by (`npm run test:durations`
 * refreshes the committed bench/test-durations.json).
 */
import { writeFile } from 'node:fs/promises';
import type { Reporter, TestModule } from 'vitest/node';

const SHOWN = 15;

function fileSeconds(module: TestModule): number {
  const diagnostic = module.diagnostic();
  const ms = diagnostic.environmentSetupDuration + diagnostic.prepareDuration + diagnostic.collectDuration + diagnostic.setupDuration + diagnostic.duration;
  return Math.round(ms / 100) / 10;
}

export default class SuiteTimingReporter implements Reporter {
  #started = performance.now();

  onTestRunStart(): void {
    this.#started = performance.now();
  }

  async onTestRunEnd(modules: readonly TestModule[]): Promise<void> {
    if (modules.length === 0) return;
    const files = modules.map((module) => ({ file: module.relativeModuleId, project: module.project.name || '(default)', seconds: fileSeconds(module) }));
    files.sort((a, b) => b.seconds - a.seconds);
    const perProject = new Map<string, { files: number; seconds: number }>();
    for (const { project, seconds } of files) {
      const entry = perProject.get(project) ?? { files: 0, seconds: 0 };
      entry.files++;
      entry.seconds += seconds;
      perProject.set(project, entry);
    }
    const wall = (performance.now() - this.#started) / 1000;
    const lines = [
      '',
      `where the time went (${files.length} files, ${wall.toFixed(0)} s wall clock; file times overlap where files run in parallel):`,
      ...[...perProject].map(([project, { files: count, seconds }]) => `  project ${project}: ${count} files, ${seconds.toFixed(0)} s of file time`),
      `  slowest ${Math.min(SHOWN, files.length)} files:`,
      ...files.slice(0, SHOWN).map(({ file, project, seconds }) => `  ${seconds.toFixed(1).padStart(7)} s  ${file}  [${project}]`),
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    const out = process.env.MIAB_TEST_DURATIONS_FILE;
    if (out !== undefined && out !== '') {
      const table = Object.fromEntries([...files].sort((a, b) => a.file.localeCompare(b.file)).map(({ file, seconds }) => [file, seconds]));
      await writeFile(out, `${JSON.stringify(table, null, 2)}\n`);
    }
  }
}
