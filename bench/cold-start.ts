/**
 * 3. Cold start of the hook call path: a fresh node process per call, as every ACME client
 * runs hooks. `node -e 0` is the floor; the commands are run round-robin so a noisy moment
 * of the machine hits all of them alike. `present --no-wait` and the certbot-auth hook (not
 * the last challenge, so no wait) use the cached session of the shared state dir; the time
 * the box spends reloading its nsd inside the write is measured at the emulator and shown.
 *
 * Then which npm packages each path loads (traced with a module loader hook) and what
 * importing each costs a fresh process, to show where the start-up time goes.
 */
import { randomBytes } from 'node:crypto';
import type { Runtime } from '../src/runtime.js';
import { CLI, HOOKS, REPO, expectSuccess, shell, timedRun } from './lib/process.js';
import { median, millis, percentile, ratio } from './lib/stats.js';
import type { Table } from './lib/table.js';
import type { BenchTopology } from './lib/topology.js';

export interface ColdStartOptions {
  readonly bench: BenchTopology;
  readonly runtime: Runtime;
  readonly repeats: number;
  readonly log: (line: string) => void;
}

interface Invocation {
  readonly argv: string[];
  readonly env: Record<string, string>;
  /** The TXT record it writes (removed after each call). */
  readonly record?: { name: string; value: string };
}

interface Command {
  readonly label: string;
  readonly make: (env: Record<string, string>, nodeOptions: readonly string[]) => Invocation;
}

const TRACE = `${REPO}bench/lib/import-trace/register.mjs`;

function freshRecord(): { name: string; value: string } {
  return { name: `cold-${randomBytes(4).toString('hex')}.example.test`, value: randomBytes(32).toString('base64url') };
}

function certbotAuth(remaining: number): Command['make'] {
  return (env, nodeOptions) => {
    const record = freshRecord();
    return {
      argv: shell(`${HOOKS}/certbot-auth`),
      env: {
        ...env,
        ...(nodeOptions.length > 0 ? { NODE_OPTIONS: nodeOptions.join(' ') } : {}),
        CERTBOT_DOMAIN: record.name,
        CERTBOT_VALIDATION: record.value,
        CERTBOT_REMAINING_CHALLENGES: String(remaining),
      },
      record,
    };
  };
}

const NODE_E_0: Command = { label: 'node -e 0', make: (env) => ({ argv: [process.execPath, '-e', '0'], env }) };
const VERSION: Command = { label: 'miab-dns01 --version', make: (env, nodeOptions) => ({ argv: [process.execPath, ...nodeOptions, CLI, '--version'], env }) };
const PRESENT: Command = {
  label: 'miab-dns01 present --no-wait (cached session)',
  make: (env, nodeOptions) => {
    const record = freshRecord();
    return { argv: [process.execPath, ...nodeOptions, CLI, 'present', '--no-wait', record.name, record.value], env, record };
  },
};
const AUTH: Command = { label: 'hooks/certbot-auth, not the last challenge (sh -c)', make: certbotAuth(1) };
/** The `miab-dns01` command as npm installs it: the one launcher (bin/miab-dns01), which adds the start-up flags. */
const LAUNCHER = `${REPO}bin/miab-dns01`;
const LAUNCHED_VERSION: Command = { label: 'bin/miab-dns01 --version (the launcher)', make: (env) => ({ argv: [LAUNCHER, '--version'], env: { ...env, MIAB_DNS01_NODE: process.execPath } }) };
const LAUNCHED_PRESENT: Command = {
  label: 'bin/miab-dns01 present --no-wait (the launcher, cached session)',
  make: (env) => {
    const record = freshRecord();
    return { argv: [LAUNCHER, 'present', '--no-wait', record.name, record.value], env: { ...env, MIAB_DNS01_NODE: process.execPath }, record };
  },
};
const AUTH_LAST: Command = { label: 'hooks/certbot-auth, last challenge (waits)', make: certbotAuth(0) };

/** npm package of a `file:` URL under node_modules, or `(own code)`. */
function packageOf(url: string): string {
  const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  return match?.[1] ?? '(own code)';
}

export async function runColdStart(options: ColdStartOptions): Promise<Table[]> {
  const { bench, runtime } = options;
  const { emulator } = bench.topology;
  const baseEnv = await bench.env();
  // The first four by index below; the launcher's calls last (against node main.js, what the bin ran before).
  const commands = [NODE_E_0, VERSION, PRESENT, AUTH, LAUNCHED_VERSION, LAUNCHED_PRESENT];
  emulator.setSecondaryLag(0);
  // Time the box spends in nsd reloads during a call (the box's cost, not ours).
  let boxMs = 0;
  let publishStart: number | undefined;
  bench.onPrimaryPublishing = (_zones, at) => {
    publishStart = at;
  };
  bench.onPrimaryPublished = (_zones, at) => {
    if (publishStart !== undefined) boxMs += at - publishStart;
    publishStart = undefined;
  };
  const invoke = async (command: Command, nodeOptions: readonly string[] = []): Promise<{ ms: number; boxMs: number; stderr: string }> => {
    const { argv, env, record } = command.make(baseEnv, nodeOptions);
    boxMs = 0;
    publishStart = undefined;
    const run = expectSuccess(await timedRun(argv, env), command.label);
    const box = boxMs;
    if (record !== undefined) await runtime.engine.cleanup(record.name, record.value);
    await emulator.secondaryIdle();
    return { ms: run.ms, boxMs: box, stderr: run.stderr };
  };
  const times = commands.map(() => [] as number[]);
  const boxTimes = commands.map(() => [] as number[]);
  // Which packages each path loads.
  const traced = [VERSION, PRESENT, AUTH, AUTH_LAST];
  const loads = new Map<Command, Set<string>>();
  const importCommand = (name: string | undefined): Command => ({
    label: name ?? 'node --input-type=module -e 0',
    make: (env) => ({ argv: [process.execPath, '--input-type=module', '-e', name === undefined ? '0' : `await import(${JSON.stringify(name)})`], env }),
  });
  let packages: string[] = [];
  let importCommands: Command[] = [];
  let importTimes: number[][] = [];
  const phases = { start: [] as number[], box: [] as number[], exit: [] as number[], reload: [] as number[] };
  try {
    // One unmeasured round first: page cache, the session in the state dir, the emulator's JIT.
    for (let repeat = -1; repeat < options.repeats; repeat++) {
      for (const [i, command] of commands.entries()) {
        const run = await invoke(command);
        if (repeat >= 0) {
          times[i]?.push(run.ms);
          boxTimes[i]?.push(run.boxMs);
        }
      }
    }
    for (const command of traced) {
      const run = await invoke(command, [`--import=${TRACE}`]);
      const urls = run.stderr.split('\n').filter((line) => line.startsWith('miab-bench-load ')).map((line) => line.slice('miab-bench-load '.length));
      loads.set(command, new Set(urls.map(packageOf)));
    }

    // Import cost of every dependency seen (and acme-client, which only `issue` should load).
    packages = [...new Set([...loads.values()].flatMap((set) => [...set]))].filter((name) => name !== '(own code)').sort();
    if (!packages.includes('acme-client')) packages.push('acme-client');
    importCommands = [importCommand(undefined), ...packages.map(importCommand)];
    importTimes = importCommands.map(() => [] as number[]);
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      for (const [i, command] of importCommands.entries()) importTimes[i]?.push((await invoke(command)).ms);
    }

    // Where the time of one present --no-wait goes: stderr lines (MIAB_DEBUG=1) time-stamped on arrival.
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      const record = freshRecord();
      let first: number | undefined;
      let written: number | undefined;
      boxMs = 0;
      publishStart = undefined;
      const run = expectSuccess(
        await timedRun([process.execPath, CLI, 'present', '--no-wait', record.name, record.value], { ...baseEnv, MIAB_DEBUG: '1' }, {
          onStderr: (text, at) => {
            if (first === undefined && text.includes('debug: > ')) first = at;
            if (/debug: < \d+ POST /.test(text)) written = at;
          },
        }),
        'present --no-wait (debug)',
      );
      phases.reload.push(boxMs);
      await runtime.engine.cleanup(record.name, record.value);
      await emulator.secondaryIdle();
      if (first === undefined || written === undefined) throw new Error(`present --no-wait --debug printed no request lines:\n${run.stderr}`);
      phases.start.push(first - run.started);
      phases.box.push(written - first);
      phases.exit.push(run.started + run.ms - written);
    }
  } finally {
    bench.onPrimaryPublishing = undefined;
    bench.onPrimaryPublished = undefined;
  }
  options.log(`  cold start: ${options.repeats} rounds done`);

  const base = median(times[0] ?? []);
  const rows = commands.map((command, i) => {
    const samples = times[i] ?? [];
    const net = samples.map((ms, k) => ms - (boxTimes[i]?.[k] ?? 0));
    const box = median(boxTimes[i] ?? []);
    return [
      command.label,
      millis(median(samples)),
      millis(percentile(samples, 95)),
      ratio(median(samples), base, 2),
      box > 0 ? millis(box) : '-',
      box > 0 ? ratio(median(net), base, 2) : '-',
    ];
  });
  const version = median(times[1] ?? []) / base;
  const present = median(times[2] ?? []) / base;
  const presentNet = median((times[2] ?? []).map((ms, k) => ms - (boxTimes[2]?.[k] ?? 0))) / base;
  const startTable: Table = {
    title: 'B. Cold start of a hook call (fresh node process each time)',
    header: ['command', 'median', 'p95', 'vs node -e 0', "box's nsd reload in the write", 'vs node -e 0 without it'],
    rows,
    notes: [
      `${options.repeats} calls of each, round-robin, after one unmeasured round; wall time from spawn() to exit. The emulator and nsd run in the bench process and its children.`,
      `Goal 3 (<= 2.5x node -e 0): --version ${version.toFixed(2)}x: ${version <= 2.5 ? 'MET' : 'MISSED'}; present --no-wait ${present.toFixed(2)}x (${presentNet.toFixed(2)}x without the box's nsd reload): ${present <= 2.5 ? 'MET' : presentNet <= 2.5 ? 'MET only without the box time' : 'MISSED'}.`,
    ],
  };

  const importBase = median(importTimes[0] ?? []);
  const ownFiles = (command: Command): string => {
    const set = loads.get(command);
    return set === undefined ? '?' : set.has('(own code)') ? 'yes' : 'no';
  };
  const importRows = packages.map((name) => {
    const samples = importTimes[importCommands.findIndex((command) => command.label === name)] ?? [];
    return [
      name,
      ...traced.map((command) => (loads.get(command)?.has(name) ? 'loaded' : '-')),
      `+${millis(median(samples) - importBase)}`,
    ];
  });
  importRows.push(['(own modules, dist/)', ...traced.map(ownFiles), '']);
  const importTable: Table = {
    title: 'Bb. npm packages each hook path loads, and what importing each costs a fresh process',
    header: ['package', '--version', 'present --no-wait', 'certbot-auth (write only)', 'certbot-auth (last, waits)', 'import cost over bare node'],
    align: ['left', 'left', 'left', 'left', 'left', 'right'],
    rows: importRows,
    notes: [
      `Loaded: traced with a module loader hook (node --import bench/lib/import-trace/register.mjs). Import cost: median of ${options.repeats} \`node --input-type=module -e "await import('<package>')"\` minus \`node --input-type=module -e 0\` (${millis(importBase)}), round-robin.`,
    ],
  };
  const undiciCost = median(importTimes[importCommands.findIndex((command) => command.label === 'undici')] ?? []) - importBase;
  const breakdown: Table = {
    title: 'Bc. Where the time of one `present --no-wait` goes (cached session)',
    header: ['phase', 'median'],
    rows: [
      ['node start-up (node -e 0)', millis(base)],
      [`module loading, configuration, session cache (until the first box request; undici alone: ~${millis(undiciCost)})`, millis(median(phases.start) - base)],
      [`box exchanges: zone list, CNAME read, TXT write (the box's nsd reload inside the write: ${millis(median(phases.reload))})`, millis(median(phases.box))],
      ['after the write answer: log, close the connection, exit', millis(median(phases.exit))],
      ['sum of the phases', millis(median(phases.start) + median(phases.box) + median(phases.exit))],
    ],
    notes: [`${options.repeats} runs with MIAB_DEBUG=1; phases from the arrival times of the debug lines on stderr, medians of each phase.`],
  };
  return [startTable, importTable, breakdown];
}
