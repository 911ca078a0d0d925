/**
 * 2. Many names: what certbot does for an N-name certificate, run the way certbot runs it:
 * the REAL hooks/certbot-auth through `sh -c`, one call per name, sequentially, with
 * CERTBOT_DOMAIN / CERTBOT_VALIDATION / CERTBOT_REMAINING_CHALLENGES, by a fresh certbot
 * stand-in process per run (the records' owner, as certbot is, so each run starts its own run
 * agent and the last call waits for every record of the run). The secondary lags 3 s.
 *
 * Compared with a naive hook that waits on every call: `miab-dns01 present <name> <value>`
 * per name. Records are removed after every run through hooks/certbot-cleanup.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { serves } from './lib/dns.js';
import { CLI, HOOKS, CertbotStandIn, agentEnded, expectSuccess, measuredRun, type TimedRun } from './lib/process.js';
import { mean, median, millis, ratio, seconds } from './lib/stats.js';
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
  /** The box's time for the run's writes (Σ, they are serialized at the box). */
  readonly writesMs: number;
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
  const writesBefore = bench.writeTimes.length;
  const certbot = new CertbotStandIn();
  const started = performance.now();
  // certbot's variables for each challenge; its clean-up hook gets the same ones again (certbot's manual.py).
  const hookEnvs = list.map((challenge, i) => ({
    ...env,
    MIAB_BENCH_CLI: CLI,
    CERTBOT_DOMAIN: challenge.domain,
    CERTBOT_VALIDATION: challenge.value,
    CERTBOT_REMAINING_CHALLENGES: String(count - 1 - i),
    CERTBOT_ALL_DOMAINS: list.map((c) => c.domain).join(','),
  }));
  for (const [i, challenge] of list.entries()) {
    const command = batched ? `${HOOKS}/certbot-auth` : PER_NAME_HOOK;
    calls.push(expectSuccess(await certbot.run(command, hookEnvs[i] ?? env), `${batched ? 'certbot-auth' : 'present'} ${challenge.domain}`));
  }
  const totalMs = performance.now() - started;
  const writesMs = bench.writeTimes.slice(writesBefore).reduce((sum, ms) => sum + ms, 0);
  // Both nameservers must serve every value now: that is what the timing is worth.
  const fqdns = list.map((challenge) => ({ fqdn: `_acme-challenge.${challenge.domain}`, value: challenge.value }));
  const checks = await Promise.all(fqdns.flatMap(({ fqdn, value }) => [bench.primaryServer, bench.secondaryServer].map((server) => serves(server, fqdn, value))));
  // Clean-up as certbot does it, with no lag so the next run starts from a settled secondary.
  emulator.setSecondaryLag(0);
  const cleanupStarted = performance.now();
  for (const [i, challenge] of list.entries()) {
    const run = await certbot.run(`${HOOKS}/certbot-cleanup`, { ...(hookEnvs[i] ?? env), CERTBOT_AUTH_OUTPUT: '' });
    expectSuccess(run, `certbot-cleanup ${challenge.domain}`);
  }
  const cleanupMs = performance.now() - cleanupStarted;
  // The last clean-up call returns once every removal is done: nothing may be left now.
  const leftAtReturn = emulator.records().filter((record) => list.some((challenge) => record.value === challenge.value));
  if (leftAtReturn.length > 0) throw new Error(`the last clean-up call returned with ${leftAtReturn.length} record(s) still on the box`);
  await certbot.stop();
  await agentEnded(certbot.pid);
  await emulator.secondaryIdle();
  const left = emulator.records().filter((record) => list.some((challenge) => record.value === challenge.value));
  if (left.length > 0) throw new Error(`clean-up left ${left.length} record(s) on the box`);
  return { totalMs, writesMs, calls, cleanupMs, verified: checks.every(Boolean) };
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
  const rtt = await authoritativeRoundTrip(options.bench);
  // node's own start, the floor of every hook process.
  const nodeRuns: number[] = [];
  for (let i = 0; i < 9; i++) nodeRuns.push((await measuredRun([process.execPath, '-e', '0'], {})).wallMs);
  const nodeMs = median(nodeRuns);
  const rows: string[][] = [];
  const verdicts: string[] = [];
  for (const count of options.counts) {
    const b = batched.get(count) ?? [];
    const p = perName.get(count) ?? [];
    const bMedian = median(b.map((run) => run.totalMs));
    const writes = median(b.map((run) => run.writesMs));
    const limit = writes + options.lagMs + rtt;
    // Calls 2 .. N-1: neither the first (starts the agent) nor the last (waits).
    const queuedCalls = b.flatMap((run) => run.calls.slice(1, -1).map((call) => call.ms));
    const finalCalls = b.map((run) => run.calls.at(-1)?.ms ?? Number.NaN);
    rows.push([
      `N=${count}`,
      seconds(bMedian),
      seconds(writes),
      seconds(limit),
      ratio(bMedian, limit, 2),
      seconds(median(b.map((run) => run.calls[0]?.ms ?? Number.NaN))),
      count > 2 ? millis(mean(queuedCalls)) : '-',
      seconds(median(finalCalls)),
      p.length > 0 ? seconds(median(p.map((run) => run.totalMs))) : '-',
      seconds(median([...b, ...p].map((run) => run.cleanupMs))),
      seconds(median(b.map((run) => run.totalMs + run.cleanupMs))),
      [...b, ...p].every((run) => run.verified) ? 'yes' : 'NO',
    ]);
    if (count === GOAL_NAMES) {
      const r = bMedian / limit;
      const floor = limit + count * nodeMs;
      verdicts.push(
        `How the time splits (run agent, src/agent): the first call starts the run's agent and hands it its challenge: ${seconds(median(b.map((run) => run.calls[0]?.ms ?? Number.NaN)))}; every further call but the last is answered once queued: ${millis(mean(queuedCalls))} on average, while the agent writes to the box back to back; the last call waits for the queue, then for both nameservers: ${seconds(median(finalCalls))}. ` +
          `The limit + ${count} x node -e 0 (${millis(nodeMs)} now) = ${seconds(floor)} = ${(floor / limit).toFixed(2)}x is the floor of hooks that write before they return; queued calls overlap node's start-up with the box's writes instead (the agent's start and our code for the first write are what remains above the limit).`,
      );
      verdicts.push(`Goal (certbot, N=${count}, lag ${options.lagMs / 1000} s, writes ${options.bench.writeMs / 1000} s: <= ${GOAL_RATIO.toFixed(2)}x the physical limit): ${(bMedian / 1000).toFixed(2)} s / ${(limit / 1000).toFixed(2)} s = ${r.toFixed(2)}x: ${r <= GOAL_RATIO ? 'MET' : 'MISSED'}.`);
    }
  }
  if (!options.counts.includes(GOAL_NAMES)) verdicts.push(`Goal (certbot, N=${GOAL_NAMES}): not run (BENCH_NAMES has no ${GOAL_NAMES}).`);
  return {
    title: `Goal 2. certbot: N auth calls through the real hooks, secondary lagging ${options.lagMs / 1000} s, box writes ${options.bench.writeMs / 1000} s`,
    header: ['names', 'certbot auth phase', "box's writes (Σ)", 'physical limit', 'vs limit', 'first call', 'per queued call', 'last call (waits)', 'wait in every call', 'clean-up (N calls)', 'whole run (auth + clean-up)', 'all served at return'],
    rows,
    notes: [
      `Auth phase: the real hooks/certbot-auth through \`sh -c\`, one call after another by a certbot stand-in (a python3 process, fresh for every run: the journal owner, as certbot is, so every run starts its own agent); only the last call (CERTBOT_REMAINING_CHALLENGES=0) waits, for all N records. Median of ${options.batchedRepeats} run(s). Cached session (the box login is not in the limit: the TOTP part measures it); clean-up through hooks/certbot-cleanup by the same stand-in after every run, with the same CERTBOT_* variables as the auth call (as certbot passes them), the secondary not lagging: its own column, and with the auth phase in "whole run" (median of the runs' sums). The last clean-up call must return with none of the run's records left on the box.`,
      `Physical limit = Σ of the box's write times in the run (measured at the emulator, serialized like the box's single gunicorn worker) + the secondary's lag (${options.lagMs / 1000} s) + one authoritative round trip (${rtt.toFixed(1)} ms, median UDP TXT query to the secondary). No client can finish sooner: certbot gives one value per hook call and the box takes one value per request.`,
      p0(options.perNameRepeats),
      `"all served at return": both nameservers answered every value right after the last call returned.`,
      ...verdicts,
      `${seconds(elapsed, 0)} in all.`,
    ],
  };
}

export const GOAL_NAMES = 20;
export const GOAL_RATIO = 1.1;

function p0(perNameRepeats: number): string {
  return perNameRepeats > 0
    ? `Wait in every call: a naive hook, \`sh -c 'exec node dist/cli/main.js present <name> <value>'\` per name (${perNameRepeats} run(s)).`
    : 'Wait in every call: not run (BENCH_NAMES_PER_NAME=0).';
}

/** Median time of a TXT query to the (lagging) secondary: the round trip the limit includes. */
export async function authoritativeRoundTrip(bench: BenchTopology): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 11; i++) {
    const started = performance.now();
    await serves(bench.secondaryServer, '_acme-challenge.rtt.example.test', 'x');
    times.push(performance.now() - started);
  }
  return median(times);
}
