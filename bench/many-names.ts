/**
 * 2. Many names: what certbot does for an N-name certificate, run by this (long-lived) node
 * process the way certbot runs it: the REAL hooks/certbot-auth through `sh -c`, one call per
 * name, sequentially, with CERTBOT_DOMAIN / CERTBOT_VALIDATION / CERTBOT_REMAINING_CHALLENGES.
 * This process is the records' owner for the journal (the hooks' owner lookup stops here, as
 * it stops at certbot), so the last call waits for every record of the run. The secondary
 * lags 3 s.
 *
 * Compared with a naive hook that waits on every call: `miab-dns01 present <name> <value>`
 * per name. Records are removed after every run through hooks/certbot-cleanup.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { serves } from './lib/dns.js';
import { CLI, HOOKS, expectSuccess, shell, timedRun, type TimedRun } from './lib/process.js';
import { mean, median, ratio, seconds } from './lib/stats.js';
import type { Table } from './lib/table.js';
import type { BenchTopology } from './lib/topology.js';

export interface ManyNamesOptions {
  readonly bench: BenchTopology;
  readonly counts: readonly number[];
  readonly lagMs: number;
  /** Repetitions of the batched run (cheap); the per-name run is done once (N x the lag). */
  readonly batchedRepeats: number;
  readonly perNameRepeats: number;
  readonly log: (line: string) => void;
}

interface Challenge {
  readonly domain: string;
  readonly value: string;
}

interface RunTiming {
  readonly totalMs: number;
  readonly calls: readonly TimedRun[];
  readonly cleanupMs: number;
  readonly verified: boolean;
}

function challenges(prefix: string, count: number): Challenge[] {
  const tag = randomBytes(3).toString('hex');
  return Array.from({ length: count }, (_, i) => ({ domain: `${prefix}${count}-${i + 1}-${tag}.example.test`, value: randomBytes(32).toString('base64url') }));
}

/** A naive certbot auth hook: waits for propagation in every call. */
const PER_NAME_HOOK = `exec node "$MIAB_BENCH_CLI" present "$CERTBOT_DOMAIN" "$CERTBOT_VALIDATION"`;

async function certbotRun(options: ManyNamesOptions, batched: boolean, count: number): Promise<RunTiming> {
  const { bench } = options;
  const { emulator } = bench.topology;
  const env = await bench.env();
  const list = challenges(batched ? 'b' : 'p', count);
  emulator.setSecondaryLag(options.lagMs);
  const calls: TimedRun[] = [];
  const started = performance.now();
  for (const [i, challenge] of list.entries()) {
    const hookEnv = {
      ...env,
      MIAB_BENCH_CLI: CLI,
      CERTBOT_DOMAIN: challenge.domain,
      CERTBOT_VALIDATION: challenge.value,
      CERTBOT_REMAINING_CHALLENGES: String(count - 1 - i),
      CERTBOT_ALL_DOMAINS: list.map((c) => c.domain).join(','),
    };
    const command = batched ? shell(`${HOOKS}/certbot-auth`) : shell(PER_NAME_HOOK);
    calls.push(expectSuccess(await timedRun(command, hookEnv), `${batched ? 'certbot-auth' : 'present'} ${challenge.domain}`));
  }
  const totalMs = performance.now() - started;
  // Both nameservers must serve every value now: that is what the timing is worth.
  const fqdns = list.map((challenge) => ({ fqdn: `_acme-challenge.${challenge.domain}`, value: challenge.value }));
  const checks = await Promise.all(fqdns.flatMap(({ fqdn, value }) => [bench.primaryServer, bench.secondaryServer].map((server) => serves(server, fqdn, value))));
  // Clean-up as certbot does it, with no lag so the next run starts from a settled secondary.
  emulator.setSecondaryLag(0);
  const cleanupStarted = performance.now();
  for (const challenge of list) {
    const run = await timedRun(shell(`${HOOKS}/certbot-cleanup`), { ...env, CERTBOT_DOMAIN: challenge.domain, CERTBOT_VALIDATION: challenge.value });
    expectSuccess(run, `certbot-cleanup ${challenge.domain}`);
  }
  const cleanupMs = performance.now() - cleanupStarted;
  await emulator.secondaryIdle();
  const left = emulator.records().filter((record) => list.some((challenge) => record.value === challenge.value));
  if (left.length > 0) throw new Error(`clean-up left ${left.length} record(s) on the box`);
  return { totalMs, calls, cleanupMs, verified: checks.every(Boolean) };
}

export async function runManyNames(options: ManyNamesOptions): Promise<Table> {
  const batched = new Map<number, RunTiming[]>();
  const perName = new Map<number, RunTiming[]>();
  const started = performance.now();
  for (let repeat = 0; repeat < Math.max(options.batchedRepeats, options.perNameRepeats); repeat++) {
    for (const count of options.counts) {
      if (repeat < options.batchedRepeats) {
        const run = await certbotRun(options, true, count);
        batched.set(count, [...(batched.get(count) ?? []), run]);
        options.log(`  many names: batched N=${count}: ${seconds(run.totalMs)} (clean-up ${seconds(run.cleanupMs)})`);
      }
      if (repeat < options.perNameRepeats) {
        const run = await certbotRun(options, false, count);
        perName.set(count, [...(perName.get(count) ?? []), run]);
        options.log(`  many names: per-name N=${count}: ${seconds(run.totalMs)} (clean-up ${seconds(run.cleanupMs)})`);
      }
    }
  }
  const elapsed = performance.now() - started;
  const base = median((batched.get(options.counts[0] ?? 1) ?? []).map((run) => run.totalMs));
  const rows: string[][] = [];
  for (const count of options.counts) {
    const b = batched.get(count) ?? [];
    const p = perName.get(count) ?? [];
    const bMedian = median(b.map((run) => run.totalMs));
    const pMedian = median(p.map((run) => run.totalMs));
    const writeCalls = b.flatMap((run) => run.calls.slice(0, -1).map((call) => call.ms));
    const finalCalls = b.map((run) => run.calls.at(-1)?.ms ?? Number.NaN);
    rows.push([
      `N=${count}`,
      seconds(bMedian),
      count > 1 ? seconds(mean(writeCalls)) : '-',
      seconds(median(finalCalls)),
      ratio(bMedian, base, 2),
      seconds(pMedian),
      ratio(pMedian, bMedian),
      seconds(median([...b, ...p].map((run) => run.cleanupMs))),
      [...b, ...p].every((run) => run.verified) ? 'yes' : 'NO',
    ]);
  }
  const last = options.counts.at(-1) ?? 0;
  const first = options.counts[0] ?? 1;
  const lastMedian = median((batched.get(last) ?? []).map((run) => run.totalMs));
  const met = lastMedian <= 1.5 * base;
  return {
    title: `2. Many names: a certbot run of N auth calls, secondary lagging ${options.lagMs / 1000} s`,
    header: ['names', 'batched (certbot-auth)', 'per write call', 'final call (waits)', 'vs N=1', 'wait per name (present)', 'per-name / batched', 'clean-up (N calls)', 'all served at return'],
    rows,
    notes: [
      `Batched: the real hooks/certbot-auth through \`sh -c\`, calls run one after another by a parent that stays alive (the journal owner); only the last call (CERTBOT_REMAINING_CHALLENGES=0) waits, for all N records. Median of ${options.batchedRepeats} run(s).`,
      `Per name: \`sh -c 'exec node dist/cli/main.js present <name> <value>'\` for each name (${options.perNameRepeats} run(s)). Cached session in both; clean-up through hooks/certbot-cleanup after every run (not in the totals).`,
      `"all served at return": both nameservers answered every value right after the last call returned.`,
      `Goal 2: N=${last} costs ${ratio(lastMedian, base, 2)} the N=${first} run (goal <= 1.5x): ${met ? 'MET' : 'MISSED'}. ${seconds(elapsed, 0)} in all.`,
    ],
  };
}
