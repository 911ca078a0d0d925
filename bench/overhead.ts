/**
 * 3. Hook process overhead: a write-only certbot-auth call (not the last challenge, cached
 * session) against `node -e 0`, with the box's write time taken out (the part of each write,
 * timed at the emulator, that fell inside the call). All calls are made by one certbot
 * stand-in, as in one certbot run: the shipped hook hands its call to the run's agent. The
 * ideas of issue 14 are side by side in one round-robin, in the hook process itself
 * (MIAB_DNS01_AGENT=0): V8 start-up flags, a bundled entry (esbuild, built here into a temp
 * dir), undici's own modules instead of its index. Goal: <= 60 ms over `node -e 0`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Runtime } from '../src/runtime.js';
import { CLI, HOOKS, REPO, CertbotStandIn, agentEnded, agentOf, cpuTimeMs, expectSuccess, type MeasuredRun } from './lib/process.js';
import { median, millis, percentile } from './lib/stats.js';
import type { Table } from './lib/table.js';
import type { BenchTopology } from './lib/topology.js';

export interface OverheadOptions {
  readonly bench: BenchTopology;
  readonly runtime: Runtime;
  readonly repeats: number;
  readonly log: (line: string) => void;
}

export const OVERHEAD_GOAL_MS = 60;

interface Variant {
  readonly label: string;
  /** A shell command line (certbot runs hooks through `sh -c`); none: `node -e 0`. */
  readonly command?: string;
  /** Not a hook call: no record, no box time; this command (default `node -e 0`). */
  readonly bare?: boolean;
  /** Added to the hook's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

/** The hook in its own process, as without the agent (0.2.0). */
const IN_PROCESS = { MIAB_DNS01_AGENT: '0' };

const q = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * A copy of dist/ whose modules import only the undici modules they use instead of undici's
 * index (which also loads fetch, cookies, WebSocket, mocks, HTTP/2...): what the proposed
 * change to the box transport would give, measured without changing src/. Placed under the
 * repo (bench/.light-*) so `undici` resolves from the repo's node_modules.
 */
const LIGHT_UNDICI: Readonly<Record<string, string>> = {
  Agent: "import Agent from 'undici/lib/dispatcher/agent.js';",
  buildConnector: "import buildConnector from 'undici/lib/core/connect.js';",
  // undici's request(url, opts) minus its argument checks: our callers always give the dispatcher.
  request: [
    "import __miabApiRequest from 'undici/lib/api/api-request.js';",
    'const request = (url, opts) => { const u = new URL(url); return __miabApiRequest.call(opts.dispatcher, { ...opts, origin: u.origin, path: u.search ? u.pathname + u.search : u.pathname, method: opts.method || "GET" }); };',
  ].join('\n'),
};

async function jsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((entry) => (entry.isDirectory() ? jsFiles(join(dir, entry.name)) : Promise.resolve(entry.name.endsWith('.js') ? [join(dir, entry.name)] : []))));
  return nested.flat();
}

async function buildLightCopy(): Promise<string> {
  const root = await mkdtemp(join(REPO, 'bench', '.light-'));
  await cp(join(REPO, 'dist'), join(root, 'dist'), { recursive: true });
  await cp(join(REPO, 'package.json'), join(root, 'package.json'));
  let patched = 0;
  for (const file of await jsFiles(join(root, 'dist'))) {
    const text = await readFile(file, 'utf8');
    const next = text.replace(/^import \{([^}]*)\} from 'undici';$/m, (_line, names: string) =>
      names
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== '')
        .map((name) => {
          const replacement = LIGHT_UNDICI[name];
          if (replacement === undefined) throw new Error(`${file} imports ${name} from undici: add it to LIGHT_UNDICI in bench/overhead.ts`);
          return replacement;
        })
        .join('\n'),
    );
    if (next !== text) {
      patched++;
      await writeFile(file, next);
    }
  }
  if (patched === 0) throw new Error('no dist/ module imports undici any more: update bench/overhead.ts');
  return root;
}

async function buildBundle(dir: string, entry = CLI): Promise<string> {
  // One ESM file per entry point, lazy imports kept as split chunks; a require() shim for the
  // CommonJS dependencies (undici) that esbuild wraps.
  await promisify(execFile)(`${REPO}node_modules/.bin/esbuild`, [
    entry, '--bundle', '--platform=node', '--format=esm', '--splitting', `--outdir=${dir}`, '--log-level=warning',
    "--banner:js=import { createRequire as __miabRequire } from 'node:module'; const require = __miabRequire(import.meta.url);",
  ]);
  return join(dir, 'main.js');
}

export interface OverheadResult {
  readonly tables: Table[];
  /** Overhead of the shipped hook over node -e 0, box time excluded (ms). */
  readonly shippedOverheadMs: number;
  readonly nodeMs: number;
}

/** Resolves once the box has finished `count` more writes than `before` (a queued call's write runs after the call). */
async function writesDone(bench: BenchTopology, before: number, count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (bench.writeTimes.length < before + count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} write(s) at the box, saw ${bench.writeTimes.length - before}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function runOverhead(options: OverheadOptions): Promise<OverheadResult> {
  const { bench, runtime } = options;
  const { emulator } = bench.topology;
  const env = await bench.env();
  const bundleDir = await mkdtemp(join(tmpdir(), 'miab-bench-bundle-'));
  let lightRoot: string | undefined;
  // The box's writes as intervals on this process's clock: a call is charged only the part inside it.
  const writes: { start: number; end: number }[] = [];
  bench.onPrimaryPublishing = (_zones, at) => writes.push({ start: at, end: Number.POSITIVE_INFINITY });
  bench.onPrimaryPublished = (_zones, at) => {
    const open = writes.find((write) => write.end === Number.POSITIVE_INFINITY);
    if (open !== undefined) open.end = at;
  };
  const boxTimeWithin = (from: number, to: number): number => writes.reduce((sum, write) => sum + Math.max(0, Math.min(to, write.end) - Math.max(from, write.start)), 0);
  const certbot = new CertbotStandIn();
  try {
    const bundle = await buildBundle(bundleDir);
    lightRoot = await buildLightCopy();
    const lightEntry = join(lightRoot, 'dist', 'cli', 'main.js');
    const lightBundle = await buildBundle(join(bundleDir, 'light'), lightEntry);
    const node = q(process.execPath);
    const hook = (flags: string, entry = CLI): string => `exec ${node} ${flags} ${q(entry)} hook certbot-auth`.replace(/ {2,}/g, ' ');
    const variants: Variant[] = [
      { label: 'node -e 0', bare: true },
      { label: 'shipped hooks/certbot-auth (to the run agent)', command: q(`${HOOKS}/certbot-auth`) },
      { label: 'shipped hooks/certbot-auth, MIAB_DNS01_AGENT=0 (in the hook process)', command: q(`${HOOKS}/certbot-auth`), env: IN_PROCESS },
      { label: 'in the hook process: node dist/cli/main.js (no flags)', command: hook(''), env: IN_PROCESS },
      { label: 'in the hook process: node --no-wasm-tier-up', command: hook('--no-wasm-tier-up'), env: IN_PROCESS },
      { label: 'in the hook process: node --liftoff-only --max-lazy', command: hook('--liftoff-only --max-lazy'), env: IN_PROCESS },
      { label: 'in the hook process: node --liftoff-only --no-opt', command: hook('--liftoff-only --no-opt'), env: IN_PROCESS },
      { label: 'in the hook process: bundle (esbuild) --liftoff-only', command: hook('--liftoff-only', bundle), env: IN_PROCESS },
      { label: "in the hook process: undici's 3 modules instead of its index --liftoff-only", command: hook('--liftoff-only', lightEntry), env: IN_PROCESS },
      { label: 'in the hook process: both (bundle of that copy) --liftoff-only', command: hook('--liftoff-only', lightBundle), env: IN_PROCESS },
      { label: 'import only: undici (whole package)', bare: true, command: `exec ${node} -e "require('undici')"` },
      { label: 'import only: undici Agent + connector + request (its modules)', bare: true, command: `exec ${node} -e "require('undici/lib/dispatcher/agent.js'); require('undici/lib/core/connect.js'); require('undici/lib/api/api-request.js')"` },
    ];
    const totals = variants.map(() => [] as number[]);
    const nets = variants.map(() => [] as number[]);
    const boxes = variants.map(() => [] as number[]);
    const cpus = variants.map(() => [] as number[]);
    let agentCpuBefore = 0;
    for (let repeat = -1; repeat < options.repeats; repeat++) {
      // After the unmeasured round: the run's agent is up (the shipped hook's first call started it).
      if (repeat === 0) agentCpuBefore = cpuTimeMs(agentOf(certbot.pid) ?? 0);
      for (const [i, variant] of variants.entries()) {
        const name = `oh-${randomBytes(4).toString('hex')}.example.test`;
        const value = randomBytes(32).toString('base64url');
        const before = bench.writeTimes.length;
        const run = expectSuccess(
          await certbot.run(variant.command ?? `exec ${node} -e 0`, { ...env, ...variant.env, CERTBOT_DOMAIN: name, CERTBOT_VALIDATION: value, CERTBOT_REMAINING_CHALLENGES: '1' }),
          variant.label,
        ) as MeasuredRun;
        const boxMs = variant.bare ? 0 : boxTimeWithin(run.started, run.started + run.ms);
        if (!variant.bare) {
          await writesDone(bench, before, 1);
          await runtime.engine.cleanup(name, value);
        }
        await emulator.secondaryIdle();
        if (repeat < 0) continue;
        totals[i]?.push(run.wallMs);
        boxes[i]?.push(boxMs);
        nets[i]?.push(run.wallMs - boxMs);
        cpus[i]?.push(run.cpuMs);
      }
    }
    const agentPid = agentOf(certbot.pid);
    const agentCpuPerCall = agentPid === undefined ? Number.NaN : (cpuTimeMs(agentPid) - agentCpuBefore) / options.repeats;
    await certbot.stop();
    await agentEnded(certbot.pid);
    // A run's first call starts its agent: fresh stand-ins, one call each.
    const firstCalls: number[] = [];
    const firstCpus: number[] = [];
    for (let i = 0; i < Math.min(options.repeats, 7); i++) {
      const fresh = new CertbotStandIn();
      const name = `first-${randomBytes(4).toString('hex')}.example.test`;
      const value = randomBytes(32).toString('base64url');
      const before = bench.writeTimes.length;
      const run = expectSuccess(await fresh.run(q(`${HOOKS}/certbot-auth`), { ...env, CERTBOT_DOMAIN: name, CERTBOT_VALIDATION: value, CERTBOT_REMAINING_CHALLENGES: '1' }), 'first call') as MeasuredRun;
      firstCalls.push(run.wallMs - boxTimeWithin(run.started, run.started + run.ms));
      firstCpus.push(run.cpuMs);
      await writesDone(bench, before, 1);
      await runtime.engine.cleanup(name, value);
      await fresh.stop();
      await agentEnded(fresh.pid);
      await emulator.secondaryIdle();
    }
    const nodeMs = median(totals[0] ?? []);
    const nodeCpu = median(cpus[0] ?? []);
    const rows = variants.map((variant, i) => {
      const net = nets[i] ?? [];
      const over = median(net) - nodeMs;
      return [
        variant.label,
        millis(median(totals[i] ?? [])),
        variant.bare ? '-' : millis(median(boxes[i] ?? [])),
        millis(median(net)),
        millis(percentile(net, 95)),
        i === 0 ? '-' : `+${millis(over)}`,
        variant.bare ? '' : over <= OVERHEAD_GOAL_MS ? 'MET' : 'missed',
        millis(median(cpus[i] ?? [])),
        i === 0 ? '-' : `+${millis(median(cpus[i] ?? []) - nodeCpu)}`,
      ];
    });
    const firstOver = median(firstCalls) - nodeMs;
    rows.push(['first call of a run (starts the run agent; fresh stand-in each)', '-', '-', millis(median(firstCalls)), millis(percentile(firstCalls, 95)), `+${millis(firstOver)}`, '(once per run)', millis(median(firstCpus)), `+${millis(median(firstCpus) - nodeCpu)}`]);
    const shippedOverheadMs = median(nets[1] ?? []) - nodeMs;
    const shippedCpuMs = median(cpus[1] ?? []) - nodeCpu;
    options.log(`  overhead: ${options.repeats} rounds done`);
    return {
      nodeMs,
      shippedOverheadMs,
      tables: [
        {
          title: 'Goal 1. Hook process overhead: write-only certbot-auth (cached session), box write time excluded',
          header: ['launcher', 'median wall', "box's write time in the call", 'wall minus box', 'p95 minus box', 'over node -e 0', `<= ${OVERHEAD_GOAL_MS} ms`, 'CPU time', 'CPU over node -e 0'],
          rows,
          notes: [
            `${options.repeats} calls of each, round-robin after one unmeasured round, all by one certbot stand-in (one "certbot run", one run agent), through \`sh -c\` as certbot runs hooks; wall and CPU time (user + system, all threads) of the child from wait4(). Box write time: the part of the emulator's writes (padded to ${bench.writeMs} ms) that fell inside the call, timed at the emulator and subtracted; a call handed to the agent returns before its write, so nothing is subtracted there. The two reads before the write (zone list from the run's snapshot, the fresh CNAME read) stay in: they are the tool's choice, not the box's write.`,
            `The run agent's own CPU time per queued call (its write, its two reads, the socket), outside the hook process: ${millis(agentCpuPerCall)} (from /proc, over the measured rounds).`,
            `Bundle: esbuild 1 file per entry point with the lazy imports as split chunks, built into a temp dir for this comparison. "undici's 3 modules": a patched copy of dist/ importing undici's Agent, connector and request modules instead of its index.`,
            `Goal (<= ${OVERHEAD_GOAL_MS} ms over node -e 0, shipped hook): +${millis(shippedOverheadMs)} wall: ${shippedOverheadMs <= OVERHEAD_GOAL_MS ? 'MET' : 'MISSED'} (CPU time +${millis(shippedCpuMs)}; a run's first call, which starts the agent: +${millis(firstOver)}; load average during the part: ${loadavg().map((l) => l.toFixed(2)).join(' ')}).`,
          ],
        },
      ],
    };
  } finally {
    bench.onPrimaryPublishing = undefined;
    bench.onPrimaryPublished = undefined;
    await certbot.stop().catch(() => undefined);
    await rm(bundleDir, { recursive: true, force: true });
    if (lightRoot !== undefined) await rm(lightRoot, { recursive: true, force: true });
  }
}
