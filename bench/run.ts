/**
 * `npm run bench [-- <part>...]`: the performance benchmarks, on the loopback test topology
 * (Mail-in-a-Box emulator with TOTP, nsd primary, lagging nsd secondary, Pebble for whole
 * ACME runs), the box's writes taking what a real box takes (0.2 s, one at a time). Not part
 * of `npm test`. Parts: calls, overhead, totp, names, peers, serve (the default set: the
 * goals of issue 14), cold, detection (on request: `npm run bench -- cold detection`).
 * Every part compares within one run, so the ratios hold on a noisy machine.
 *
 * Knobs (environment): BENCH_WRITE_MS (box time per changing write, 200), BENCH_OVERHEAD_REPEATS
 * (15), BENCH_NAMES (1,20), BENCH_NAMES_REPEATS (3), BENCH_NAMES_PER_NAME (runs of the
 * wait-in-every-call hook, 0), BENCH_ISSUE_NAMES (1,20), BENCH_ISSUE_REPEATS (2),
 * BENCH_PEERS_REPEATS (1), BENCH_COLD_REPEATS (15), BENCH_RUNS (detection runs per lag, 20),
 * BENCH_LAGS (seconds, 0,2,10), BENCH_LANES (2), BENCH_JITTER_MS (1000).
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DEFAULT_PROPAGATION_SETTINGS } from '../src/propagation/settings.js';
import type { Runtime } from '../src/runtime.js';
import { runBoxCalls } from './box-calls.js';
import { runColdStart } from './cold-start.js';
import { runDetection, type Lane } from './detection.js';
import { REPO, running, timedRun } from './lib/process.js';
import { runPeers } from './peers.js';
import { runTotp } from './totp.js';
import { renderTable, type Table } from './lib/table.js';
import { REAL_BOX_WRITE_MS, startBenchTopology, type BenchTopology } from './lib/topology.js';
import { runManyNames } from './many-names.js';
import { runOverhead } from './overhead.js';
import { runCnameRead } from './cname-read.js';

const PARTS = ['calls', 'overhead', 'totp', 'names', 'peers', 'serve', 'cold', 'detection'] as const;
/** What `npm run bench` runs with no part named: the goals of issue 14 (cold and detection on request). */
const DEFAULT_PARTS: readonly Part[] = ['calls', 'overhead', 'totp', 'names', 'peers', 'serve'];
type Part = (typeof PARTS)[number];

// The hooks this process runs look for the ACME client among their ancestors: this process
// is their owner, as certbot is (its own name also makes it easy to find in ps).
process.title = 'miab-dns01-bench';

function numberFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}=${text} is not a non-negative number`);
  return value;
}

function listFromEnv(name: string, fallback: readonly number[]): number[] {
  const text = process.env[name];
  if (text === undefined || text === '') return [...fallback];
  const values = text.split(',').map(Number);
  if (values.some((value) => !Number.isFinite(value) || value < 0)) throw new Error(`${name}=${text} is not a comma-separated list of numbers`);
  return values;
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const loadNow = (): string => loadavg().map((load) => load.toFixed(2)).join(', ');
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const topologies: BenchTopology[] = [];
const runtimes: Runtime[] = [];

async function stopAll(): Promise<void> {
  for (const child of running) child.kill('SIGKILL');
  for (const runtime of runtimes.splice(0)) await runtime.close().catch(() => undefined);
  for (const topology of topologies.splice(0)) await topology.stop().catch(() => undefined);
}

async function main(): Promise<void> {
  const requested = process.argv.slice(2).filter((arg) => arg !== '--');
  for (const part of requested) if (!(PARTS as readonly string[]).includes(part)) throw new Error(`unknown part "${part}"; parts: ${PARTS.join(', ')}`);
  const parts: readonly Part[] = requested.length > 0 ? PARTS.filter((part) => requested.includes(part)) : DEFAULT_PARTS;
  const started = performance.now();
  const header = [
    `# miab-dns01 benchmarks`,
    '',
    `- date: ${new Date().toISOString()}`,
    `- machine: ${availableParallelism()} CPU(s), ${cpuModel()}; node ${process.version}`,
    `- propagation defaults: first check at once, then ${DEFAULT_PROPAGATION_SETTINGS.initialIntervalMs} ms x${DEFAULT_PROPAGATION_SETTINGS.intervalFactor}, capped at ${DEFAULT_PROPAGATION_SETTINGS.maxIntervalMs} ms`,
    `- topology: Mail-in-a-Box emulator (TOTP on) + nsd primary + lagging nsd secondary, all on 127.0.0.0/8; box writes ${numberFromEnv('BENCH_WRITE_MS', REAL_BOX_WRITE_MS)} ms each, one at a time (BENCH_WRITE_MS)`,
    `- load average at start (1, 5, 15 min): ${loadNow()}`,
    '',
  ].join('\n');
  process.stdout.write(`${header}\n`);

  log('bench: starting the topology (emulator, 2 x nsd)');
  const writeMs = numberFromEnv('BENCH_WRITE_MS', REAL_BOX_WRITE_MS);
  const box = await startBenchTopology({ lagMs: 0, writeMs });
  topologies.push(box);
  // Every part ends its table with "Goal (...): ... MET|MISSED" lines: gathered for the end.
  const verdicts: string[] = [];
  const write = (text: string): void => {
    verdicts.push(...text.split('\n').filter((line) => line.startsWith('Goal (')));
    process.stdout.write(text);
  };
  const print = (table: Table): void => write(`${renderTable(table)}\n`);

  // The first login of this emulator: the box-calls part counts it, so it goes first.
  if (parts.includes('calls')) print(await runBoxCalls({ bench: box, stateDir: box.sharedStateDir, log }));
  const runtime = await box.openRuntime();
  runtimes.push(runtime);
  if (parts.includes('overhead')) for (const table of (await runOverhead({ bench: box, runtime, repeats: numberFromEnv('BENCH_OVERHEAD_REPEATS', 15), log })).tables) print(table);
  if (parts.includes('overhead')) print(await runCnameRead({ bench: box, runtime, records: 20, repeats: numberFromEnv('BENCH_OVERHEAD_REPEATS', 15), log }));
  if (parts.includes('cold')) for (const table of await runColdStart({ bench: box, runtime, repeats: numberFromEnv('BENCH_COLD_REPEATS', 15), log })) print(table);
  if (parts.includes('names')) {
    print(
      await runManyNames({
        bench: box,
        counts: listFromEnv('BENCH_NAMES', [1, 20]),
        lagMs: 3000,
        batchedRepeats: numberFromEnv('BENCH_NAMES_REPEATS', 3),
        perNameRepeats: numberFromEnv('BENCH_NAMES_PER_NAME', 0),
        log,
      }),
    );
  }
  // Last on this topology: it restarts the emulator, which forgets every session.
  if (parts.includes('totp')) print(await runTotp({ bench: box, log }));
  if (parts.includes('peers')) {
    log('bench: starting a topology with Pebble (secondary lagging 3 s)');
    const acme = await startBenchTopology({ lagMs: 3000, writeMs, pebble: true });
    topologies.push(acme);
    for (const table of await runPeers({
      bench: acme,
      lagMs: 3000,
      issueCounts: listFromEnv('BENCH_ISSUE_NAMES', [1, 20]),
      issueRepeats: numberFromEnv('BENCH_ISSUE_REPEATS', 2),
      peerRepeats: numberFromEnv('BENCH_PEERS_REPEATS', 1),
      log,
    }))
      print(table);
  }
  if (parts.includes('serve')) {
    // bench/serve-load.ts also runs alone (its own knobs); here in its own process, with the box's write time.
    const script = `${REPO}bench/serve-load.ts`;
    if (existsSync(script)) {
      const run = await timedRun([process.execPath, '--import', 'tsx', script], { ...(process.env as Record<string, string>), BENCH_WRITE_MS: String(writeMs) }, { timeoutMs: 900_000 });
      write(`### Goal 5. serve (bench/serve-load.ts)\n\n${run.stdout}\n${run.code === 0 ? '' : `serve-load exited with ${run.code ?? run.signal}: ${run.stderr.trim().slice(-2000)}\n`}`);
    } else {
      process.stdout.write('### Goal 5. serve\n\nserve: not benchmarked in this run (bench/serve-load.ts is not in this tree).\n\n');
    }
  }
  if (parts.includes('detection')) {
    const lanes: Lane[] = [{ bench: box, runtime }];
    for (let i = 1; i < Math.max(1, numberFromEnv('BENCH_LANES', 2)); i++) {
      const bench = await startBenchTopology({ lagMs: 0, writeMs });
      topologies.push(bench);
      const laneRuntime = await bench.openRuntime();
      runtimes.push(laneRuntime);
      lanes.push({ bench, runtime: laneRuntime });
    }
    // One unmeasured present per lane: the login and the zone list are not what is measured.
    for (const lane of lanes) {
      const [record] = await lane.runtime.engine.present([{ name: 'warm-up.example.test', value: 'warm-up-value' }], { wait: true });
      if (record !== undefined) await lane.runtime.engine.remove(record);
      await lane.bench.topology.emulator.secondaryIdle();
    }
    print(
      await runDetection({
        runs: numberFromEnv('BENCH_RUNS', 20),
        lagsMs: listFromEnv('BENCH_LAGS', [0, 2, 10]).map((lag) => lag * 1000),
        jitterMs: numberFromEnv('BENCH_JITTER_MS', 1000),
        pollIntervalMs: 2000,
        sleepMs: 10_000,
        lanes,
        log,
      }),
    );
  }
  process.stdout.write(`### Verdicts\n\n${verdicts.map((line) => `- ${line}`).join('\n')}\n\n`);
  process.stdout.write(`Load average at the end (1, 5, 15 min): ${loadNow()}.\n`);
  process.stdout.write(`Total bench time: ${((performance.now() - started) / 1000).toFixed(0)} s (parts: ${parts.join(', ')}).\n`);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log(`bench: ${signal}, stopping everything it started`);
    void stopAll().finally(() => process.exit(130));
  });
}

main()
  .catch((error: unknown) => {
    process.exitCode = 1;
    log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  })
  .finally(() => stopAll());
