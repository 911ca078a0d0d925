/**
 * Orders the suite's files longest first across every project (longest-processing-time
 * scheduling), so that on a 2-core machine the long end-to-end files start at once and the
 * short ones fill the gaps, instead of a long file starting last. vitest's own order needs its
 * cache of earlier runs, which a fresh clone lacks: the times come from bench/test-durations.json
 * (written by bench/suite-reporter.ts; `npm run test:durations` refreshes it). A file not in it
 * yet counts as long when it is end-to-end (test/**) and short when it is a unit file (src/**).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const TABLE = new URL('./test-durations.json', import.meta.url);
const UNKNOWN_END_TO_END_SECONDS = 60;
const UNKNOWN_UNIT_SECONDS = 2;

function knownDurations(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(TABLE, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const known = knownDurations();
    const expected = (spec: TestSpecification): number => {
      const file = relative(this.ctx.config.root, spec.moduleId);
      return known[file] ?? (file.startsWith('src/') ? UNKNOWN_UNIT_SECONDS : UNKNOWN_END_TO_END_SECONDS);
    };
    return [...files].sort((a, b) => a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder || expected(b) - expected(a));
  }
}
