/**
 * 3. Hook process overhead: a write-only certbot-auth call (not the last challenge, cached
 * session) against `node -e 0`, with the box's write time taken out (measured at the
 * emulator for every call). The launcher variants are the ideas of issue 14, side by side in
 * one round-robin: V8 start-up flags, a bundled entry (esbuild, built here into a temp dir),
 * and the shipped hook script. Goal: <= 60 ms over `node -e 0`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:net';
import type { Runtime } from '../src/runtime.js';
import { CLI, HOOKS, REPO, expectSuccess, measuredRun, shell, type MeasuredRun } from './lib/process.js';
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
  /** Not a hook call: no record, no box time; this argv (default `node -e 0`). */
  readonly bare?: boolean;
  readonly argv?: readonly string[];
}

/**
 * The client half of a per-run helper process (idea 4 of issue 14): the hook hands its
 * challenge to a helper that holds the session and the connection, over a Unix socket, and
 * exits when the helper has taken it. The helper here is a stub in the bench process that
 * answers at once: this measures the floor of that design, not an implementation of it.
 */
const HELPER_CLIENT = [
  "const s = require('node:net').connect(process.env.MIAB_BENCH_SOCKET);",
  "s.end(JSON.stringify({ name: process.env.CERTBOT_DOMAIN, value: process.env.CERTBOT_VALIDATION }) + '\\n');",
  "s.setEncoding('utf8'); let answer = ''; s.on('data', (d) => { answer += d; });",
  "s.on('close', () => { process.exitCode = answer.startsWith('ok') ? 0 : 1; });",
].join(' ');

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

export async function runOverhead(options: OverheadOptions): Promise<OverheadResult> {
  const { bench, runtime } = options;
  const { emulator } = bench.topology;
  const env = await bench.env();
  const bundleDir = await mkdtemp(join(tmpdir(), 'miab-bench-bundle-'));
  let helper: Server | undefined;
  let lightRoot: string | undefined;
  try {
    const bundle = await buildBundle(bundleDir);
    lightRoot = await buildLightCopy();
    const lightEntry = join(lightRoot, 'dist', 'cli', 'main.js');
    const lightBundle = await buildBundle(join(bundleDir, 'light'), lightEntry);
    const node = q(process.execPath);
    const hook = (flags: string, entry = CLI): string => `exec ${node} ${flags} ${q(entry)} hook certbot-auth`.replace(/ {2,}/g, ' ');
    const socketPath = join(bundleDir, 'helper.sock');
    helper = createServer((socket) => {
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        if (chunk.includes('\n')) socket.end('ok\n');
      });
    });
    await new Promise<void>((resolve) => helper?.listen(socketPath, resolve));
    const variants: Variant[] = [
      { label: 'node -e 0', bare: true },
      { label: 'shipped hooks/certbot-auth', command: q(`${HOOKS}/certbot-auth`) },
      { label: 'node dist/cli/main.js (no flags)', command: hook('') },
      { label: 'node --no-wasm-tier-up', command: hook('--no-wasm-tier-up') },
      { label: 'node --liftoff-only', command: hook('--liftoff-only') },
      { label: 'node --max-lazy', command: hook('--max-lazy') },
      { label: 'node --liftoff-only --max-lazy', command: hook('--liftoff-only --max-lazy') },
      { label: 'node --single-threaded', command: hook('--single-threaded') },
      { label: 'node --liftoff-only --no-opt', command: hook('--liftoff-only --no-opt') },
      { label: 'node --liftoff-only --max-semi-space-size=16', command: hook('--liftoff-only --max-semi-space-size=16') },
      { label: 'bundle (esbuild), no flags', command: hook('', bundle) },
      { label: 'bundle (esbuild) --liftoff-only', command: hook('--liftoff-only', bundle) },
      { label: "undici's 3 modules instead of its index (patched dist copy) --liftoff-only", command: hook('--liftoff-only', lightEntry) },
      { label: 'both: bundle of that copy --liftoff-only', command: hook('--liftoff-only', lightBundle) },
      { label: 'import only: undici (whole package)', bare: true, argv: [process.execPath, '-e', "require('undici')"] },
      { label: 'import only: undici Agent + connector + request (its modules)', bare: true, argv: [process.execPath, '-e', "require('undici/lib/dispatcher/agent.js'); require('undici/lib/core/connect.js'); require('undici/lib/api/api-request.js')"] },
      { label: 'helper-process client (stub helper, answers at once)', bare: true, argv: [process.execPath, '-e', HELPER_CLIENT] },
    ];
    let boxMs = 0;
    let writes = 0;
    const totals = variants.map(() => [] as number[]);
    const nets = variants.map(() => [] as number[]);
    const boxes = variants.map(() => [] as number[]);
    const cpus = variants.map(() => [] as number[]);
    for (let repeat = -1; repeat < options.repeats; repeat++) {
      for (const [i, variant] of variants.entries()) {
        const name = `oh-${randomBytes(4).toString('hex')}.example.test`;
        const value = randomBytes(32).toString('base64url');
        const before = bench.writeTimes.length;
        const run = expectSuccess(
          variant.bare
            ? await measuredRun(variant.argv ?? [process.execPath, '-e', '0'], { ...env, MIAB_BENCH_SOCKET: socketPath, CERTBOT_DOMAIN: name, CERTBOT_VALIDATION: value })
            : await measuredRun(shell(variant.command ?? ''), { ...env, CERTBOT_DOMAIN: name, CERTBOT_VALIDATION: value, CERTBOT_REMAINING_CHALLENGES: '1' }),
          variant.label,
        ) as MeasuredRun;
        boxMs = bench.writeTimes.slice(before).reduce((sum, ms) => sum + ms, 0);
        writes = bench.writeTimes.length - before;
        if (!variant.bare && writes !== 1) throw new Error(`${variant.label}: expected 1 write at the box, saw ${writes}`);
        if (!variant.bare) await runtime.engine.cleanup(name, value);
        await emulator.secondaryIdle();
        if (repeat < 0) continue;
        totals[i]?.push(run.wallMs);
        boxes[i]?.push(boxMs);
        nets[i]?.push(run.wallMs - boxMs);
        cpus[i]?.push(run.cpuMs);
      }
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
    const shippedOverheadMs = median(nets[1] ?? []) - nodeMs;
    const shippedCpuMs = median(cpus[1] ?? []) - nodeCpu;
    options.log(`  overhead: ${options.repeats} rounds done`);
    return {
      nodeMs,
      shippedOverheadMs,
      tables: [
        {
          title: 'Goal 1. Hook process overhead: write-only certbot-auth (cached session), box write time excluded',
          header: ['launcher', 'median wall', "box's write time", 'wall minus box', 'p95 minus box', 'over node -e 0', `<= ${OVERHEAD_GOAL_MS} ms`, 'CPU time', 'CPU over node -e 0'],
          rows,
          notes: [
            `${options.repeats} calls of each, round-robin after one unmeasured round, through \`sh -c\` as certbot runs hooks; wall and CPU time (user + system, all threads) of the child from wait4(), measured by a python3 wrapper (its own start-up excluded). Box write time: the emulator's write (padded to ${bench.writeMs} ms) measured at the emulator for that very call and subtracted. The two reads before the write (zone list from the run's snapshot, the fresh CNAME read) stay in: they are the tool's choice, not the box's write.`,
            `Bundle: esbuild 1 file per entry point with the lazy imports as split chunks, built into a temp dir for this comparison.`,
            `Goal (<= ${OVERHEAD_GOAL_MS} ms over node -e 0, shipped hook): +${millis(shippedOverheadMs)} wall: ${shippedOverheadMs <= OVERHEAD_GOAL_MS ? 'MET' : 'MISSED'} (CPU time +${millis(shippedCpuMs)}; load average during the part: ${loadavg().map((l) => l.toFixed(2)).join(' ')}).`,
          ],
        },
      ],
    };
  } finally {
    await new Promise<void>((resolve) => (helper ? helper.close(() => resolve()) : resolve()));
    await rm(bundleDir, { recursive: true, force: true });
    if (lightRoot !== undefined) await rm(lightRoot, { recursive: true, force: true });
  }
}
