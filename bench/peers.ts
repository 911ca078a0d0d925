/**
 * 5 and 6. Whole ACME runs against Pebble (validating through the lagging secondary), box
 * writes at the real box's speed:
 * - `issue` with N names against its physical limit (ACME exchanges measured with N = 1);
 * - apex + wildcard side by side with the peers' strategies, same rig, same names: lego 4.9.1
 *   `--dns exec` with our hook (lego's defaults, then the settings of our recipe, docs/lego.md), certbot with our
 *   hooks, `issue`, and the fixed sleeps of certbot's DNS plugins (10 s) and acme.sh (20 s),
 *   modelled as our `present --no-wait` per challenge plus that sleep once after the last.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runCertbot, runCertbotRegister, runLego, type ClientRun } from '../test/fixtures/acme-clients.js';
import { authoritativeRoundTrip } from './many-names.js';
import { CLI, HOOKS, expectSuccess, timedRun } from './lib/process.js';
import { median, ratio, seconds } from './lib/stats.js';
import type { Table } from './lib/table.js';
import type { BenchTopology } from './lib/topology.js';

export const ISSUE_GOAL_NAMES = 20;
export const ISSUE_GOAL_RATIO = 1.1;

export interface PeersOptions {
  readonly bench: BenchTopology;
  readonly lagMs: number;
  /** Name counts for the `issue` table (the goal is at 20). */
  readonly issueCounts: readonly number[];
  readonly issueRepeats: number;
  /** Repeats of each peer strategy (lego's defaults alone take over a minute). */
  readonly peerRepeats: number;
  readonly log: (line: string) => void;
}

interface Timed {
  readonly ms: number;
  readonly writesMs: number;
}

// certbot looks the hook's first word up as a command: no quoting (the repo path has no spaces).

function freshLabel(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function runPeers(options: PeersOptions): Promise<Table[]> {
  const { bench } = options;
  const { topology } = bench;
  const pebble = topology.pebble;
  if (pebble === undefined) throw new Error('the peers part needs a topology with Pebble');
  const work = await mkdtemp(join(tmpdir(), 'miab-bench-peers-'));
  const baseEnv = await bench.env(bench.sharedStateDir, { NODE_EXTRA_CA_CERTS: pebble.caFile });
  const resolvers = [`${topology.primaryAddress}:${topology.dnsPort}`];
  const timed = async (what: string, fn: () => Promise<void>): Promise<Timed> => {
    await topology.emulator.secondaryIdle();
    topology.emulator.setSecondaryLag(options.lagMs);
    const before = bench.writeTimes.length;
    const started = performance.now();
    await fn();
    const ms = performance.now() - started;
    const writesMs = bench.writeTimes.slice(before).reduce((sum, t) => sum + t, 0);
    options.log(`  peers: ${what}: ${seconds(ms)} (box writes ${seconds(writesMs)})`);
    return { ms, writesMs };
  };
  const expectClient = (run: ClientRun, what: string): void => {
    if (run.exitCode !== 0 || run.certPath === undefined) throw new Error(`${what} failed (exit ${run.exitCode ?? run.signal}):\n${run.stderr.slice(-3000)}`);
  };
  const left = (): number => topology.emulator.records().filter((record) => record.rtype === 'TXT').length;

  const issue = async (names: readonly string[]): Promise<void> => {
    const out = await mkdtemp(join(work, 'issue-'));
    const run = await timedRun([process.execPath, CLI, 'issue', '--agree-tos', '--server', pebble.directoryUrl, ...names.flatMap((name) => ['-d', name]), '--out', out], baseEnv, { timeoutMs: 300_000 });
    expectSuccess(run, `issue ${names.join(' ')}`);
  };
  const apexAndWildcard = (prefix: string): string[] => {
    const label = freshLabel(prefix);
    return [`${label}.example.test`, `*.${label}.example.test`];
  };
  // certbot as the driver of a hook pair: our hooks, or a fixed-sleep model of a plugin.
  const certbotDir = join(work, 'certbot');
  const certbot = async (names: readonly string[], authHook: string, cleanupHook: string): Promise<void> => {
    const run = await runCertbot({
      directoryUrl: pebble.directoryUrl, caFile: pebble.caFile, workDir: certbotDir, domains: names, authHook, cleanupHook,
      env: { ...baseEnv, MIAB_BENCH_CLI: CLI }, timeoutMs: 300_000,
    });
    expectClient(run, `certbot ${names.join(' ')}`);
  };
  const ourHooks = (names: readonly string[]): Promise<void> => certbot(names, `${HOOKS}/certbot-auth`, `${HOOKS}/certbot-cleanup`);
  // A plugin writes every challenge, then sleeps once: `present --no-wait` per call, the sleep after the last.
  const sleepModel = (seconds: number) => (names: readonly string[]): Promise<void> =>
    certbot(
      names,
      `node "$MIAB_BENCH_CLI" present --no-wait "$CERTBOT_DOMAIN" "$CERTBOT_VALIDATION" && { [ "$CERTBOT_REMAINING_CHALLENGES" != 0 ] || sleep ${seconds}; }`,
      `node "$MIAB_BENCH_CLI" cleanup "$CERTBOT_DOMAIN" "$CERTBOT_VALIDATION"`,
    );
  const legoDir = join(work, 'lego');
  const lego = (settings: 'defaults' | 'recipe') => async (names: readonly string[]): Promise<void> => {
    const run = await runLego({
      directoryUrl: pebble.directoryUrl, caFile: pebble.caFile, workDir: legoDir, domains: names,
      execPath: `${HOOKS}/lego-exec`, resolvers, timeoutMs: 300_000,
      // lego's own defaults (the fixture sets the recipe's 1 s interval and a 1 s poll).
      env: { ...baseEnv, ...(settings === 'defaults' ? { EXEC_SEQUENCE_INTERVAL: '60', EXEC_POLLING_INTERVAL: '2', EXEC_PROPAGATION_TIMEOUT: '60' } : {}) },
    });
    expectClient(run, `lego (${settings}) ${names.join(' ')}`);
  };

  try {
    // Unmeasured: the ACME accounts (certbot, lego, issue) and the box session.
    options.log('  peers: warm-up (ACME accounts, session)');
    await runCertbotRegister({ directoryUrl: pebble.directoryUrl, caFile: pebble.caFile, workDir: certbotDir, env: baseEnv });
    await lego('recipe')(apexAndWildcard('warm-lego'));
    await issue(apexAndWildcard('warm-issue'));

    // 5. issue with N names.
    const rtt = await authoritativeRoundTrip(bench);
    const issueRuns = new Map<number, Timed[]>();
    for (let repeat = 0; repeat < options.issueRepeats; repeat++) {
      for (const count of options.issueCounts) {
        const label = freshLabel('n');
        const names = Array.from({ length: count }, (_, i) => `${label}-${i + 1}.example.test`);
        issueRuns.set(count, [...(issueRuns.get(count) ?? []), await timed(`issue N=${count}`, () => issue(names))]);
      }
    }
    const first = options.issueCounts[0] ?? 1;
    const one = issueRuns.get(first) ?? [];
    // What an N=1 run costs beyond its box writes, the lag and the round trip: ACME
    // exchanges (account, order, authorization, challenge, finalize, download) and process start.
    const acmeMs = median(one.map((run) => run.ms - run.writesMs)) - options.lagMs - rtt;
    const issueRows: string[][] = [];
    const issueNotes: string[] = [];
    for (const count of options.issueCounts) {
      const runs = issueRuns.get(count) ?? [];
      const total = median(runs.map((run) => run.ms));
      const writes = median(runs.map((run) => run.writesMs));
      const limit = acmeMs + writes + options.lagMs + rtt;
      issueRows.push([`N=${count}`, seconds(total), seconds(writes), seconds(acmeMs), seconds(limit), ratio(total, limit, 2)]);
      if (count === ISSUE_GOAL_NAMES) {
        const r = total / limit;
        issueNotes.push(`Goal (issue, N=${count}: <= ${ISSUE_GOAL_RATIO.toFixed(2)}x its physical limit): ${seconds(total)} / ${seconds(limit)} = ${r.toFixed(2)}x: ${r <= ISSUE_GOAL_RATIO ? 'MET' : 'MISSED'}.`);
      }
    }
    if (!options.issueCounts.includes(ISSUE_GOAL_NAMES)) issueNotes.push(`Goal (issue, N=${ISSUE_GOAL_NAMES}): not run (BENCH_ISSUE_NAMES has no ${ISSUE_GOAL_NAMES}).`);

    // 6. apex + wildcard, every strategy, round-robin.
    const strategies: { label: string; family: 'lego' | 'certbot' | 'issue'; ours: boolean; run: (names: readonly string[]) => Promise<void> }[] = [
      { label: '`issue` (native)', family: 'issue', ours: true, run: issue },
      { label: 'certbot + our hooks', family: 'certbot', ours: true, run: ourHooks },
      { label: "lego 4.9.1 exec + our hook, docs/lego.md settings (EXEC_SEQUENCE_INTERVAL=1, --dns.disable-cp)", family: 'lego', ours: true, run: lego('recipe') },
      { label: "lego 4.9.1 exec + our hook, lego's defaults (sequence interval 60 s, 2 s poll)", family: 'lego', ours: false, run: lego('defaults') },
      { label: 'certbot DNS-plugin strategy: write, then sleep 10 s', family: 'certbot', ours: false, run: sleepModel(10) },
      { label: "acme.sh strategy: write, then sleep 20 s (its first check passes: lag < 20 s)", family: 'certbot', ours: false, run: sleepModel(20) },
    ];
    const peerTimes = strategies.map(() => [] as number[]);
    for (let repeat = 0; repeat < options.peerRepeats; repeat++) {
      for (const [i, strategy] of strategies.entries()) {
        const names = apexAndWildcard('p');
        peerTimes[i]?.push((await timed(strategy.label, () => strategy.run(names))).ms);
        if (left() > 0) throw new Error(`${strategy.label} left ${left()} TXT record(s) on the box`);
      }
    }
    const ourIssue = median(peerTimes[0] ?? []);
    const ours = (family: string): number => median(peerTimes[strategies.findIndex((s) => s.ours && s.family === family)] ?? []);
    const peerRows = strategies.map((strategy, i) => {
      const t = median(peerTimes[i] ?? []);
      return [strategy.label, seconds(t), ratio(t, ourIssue, 2), strategy.ours ? '1.00x' : ratio(t, ours(strategy.family), 2)];
    });
    return [
      {
        title: `Goal 3. \`issue\`: N names in one order, secondary lagging ${options.lagMs / 1000} s, box writes ${bench.writeMs / 1000} s`,
        header: ['names', 'total (process start to exit)', "box's writes (Σ, adds + deletes)", 'ACME exchanges (from N=1)', 'physical limit', 'vs limit'],
        rows: issueRows,
        notes: [
          `Median of ${options.issueRepeats} run(s) per N, against Pebble (validating through the lagging secondary), cached box session and ACME account.`,
          `Physical limit = ACME exchanges + Σ of the box's write times in the run (every add and every delete: the box takes one value per request, one request at a time) + the lag + one authoritative round trip (${rtt.toFixed(1)} ms).`,
          `ACME exchanges are measured with N=${first}: its total minus its box writes, the lag and the round trip (${seconds(acmeMs)}; this also holds node's start, so it is a generous allowance for N=1 and the ratio shows what each further name costs beyond its two box writes).`,
          ...issueNotes,
        ],
      },
      {
        title: `Goal 6. Apex + wildcard, time to certificate, peers' strategies on the same rig (lag ${options.lagMs / 1000} s, box writes ${bench.writeMs / 1000} s)`,
        header: ['strategy', 'total', 'vs `issue`', 'vs ours in the same client'],
        rows: peerRows,
        notes: [
          `Median of ${options.peerRepeats} run(s) each, strategies round-robin; every run a fresh name; Pebble validates through the lagging secondary; ACME accounts registered beforehand (unmeasured).`,
          'lego 4.9.1 (Debian) with hooks/lego-exec; --dns.disable-cp and --dns.resolvers on loopback in both lego rows (the rig may not leave loopback); "defaults" leaves EXEC_SEQUENCE_INTERVAL (60 s), EXEC_POLLING_INTERVAL (2 s) and EXEC_PROPAGATION_TIMEOUT (60 s) at lego\'s values.',
          "Fixed-sleep strategies run through certbot: each auth call `miab-dns01 present --no-wait`, the last one then sleeps (10 s: certbot's DNS plugins' default --dns-*-propagation-seconds; 20 s: acme.sh's sleep before its first check, which passes here because the lag is 3 s; with a lag over 20 s acme.sh adds its poll interval).",
        ],
      },
    ];
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
