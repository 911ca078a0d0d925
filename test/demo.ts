/**
 * `npm run demo`: one wildcard + apex certificate, end to end, on loopback only.
 *
 *   1. checks for the Debian programs it needs (nsd, nsd-control, pebble, openssl); as root it
 *      installs the missing packages with apt-get, otherwise it prints the command and exits 1;
 *   2. starts the test topology: the Mail-in-a-Box emulator (TOTP on), a real nsd primary, a
 *      real nsd secondary that serves every change 3 s late, and Pebble validating DNS-01
 *      through that lagging secondary;
 *   3. runs the real CLI, `node dist/cli/main.js issue ...`, as a child process with a minimal
 *      environment (PATH, HOME, the MIAB_* variables, NODE_EXTRA_CA_CERTS); the password and
 *      the TOTP secret travel as 0600 files named in the environment, never in argv;
 *   4. prints the certificate's names, issuer and expiry and keeps the files in
 *      ./demo-output/certs (a directory git ignores through its own .gitignore);
 *   5. stops everything it started, on success, failure, SIGINT, SIGTERM and SIGHUP (it runs
 *      as a detached worker so a terminal's Ctrl-C does not kill nsd and Pebble under the
 *      issue command's clean-up: see supervise()).
 *
 * Every address is 127.0.0.0/8: it runs inside `unshare -n` (loopback only) as well.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_EMAIL, startTopology, type Topology } from './fixtures/topology.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'dist', 'cli', 'main.js');
const DOMAINS = ['demo.example.test', '*.demo.example.test'] as const;
/** The whole `issue` run; the CLI's own propagation timeout (60 s from the topology) is shorter. */
const ISSUE_TIMEOUT_MS = 180_000;
/** After SIGTERM (timeout or a signal to the demo), how long the CLI gets for its clean-up. */
const KILL_GRACE_MS = 20_000;
/** How late the secondary nameserver serves each change. */
const LAG_MS = 3_000;
/** Programs the topology runs, and the Debian package that provides each. */
const PROGRAMS: Readonly<Record<string, string>> = { nsd: 'nsd', 'nsd-control': 'nsd', pebble: 'pebble', openssl: 'openssl' };
const SEARCH_PATH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`;
/** The demo's own narration, on stdout; the CLI's messages come through on stderr. */
const say = (message: string): void => void process.stdout.write(`[${elapsed()}] ${message}\n`);
const detail = (message: string): void => void process.stdout.write(`          ${message}\n`);

class DemoError extends Error {}

// ---------------------------------------------------------------------------------------------
// 1. programs

function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH_PATH];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a command with its output shown; resolves with its status and what it wrote to stderr. */
function runShown(argv: readonly string[]): Promise<{ status: number; stderr: string }> {
  const [file = '', ...args] = argv;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      process.stderr.write(chunk);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolvePromise({ status: code ?? 128 + (signal ? osConstants.signals[signal] : 0), stderr }));
  });
}

/** True when apt has downloaded package lists (a fresh container image has none). */
function hasPackageLists(): boolean {
  try {
    return readdirSync('/var/lib/apt/lists').some((name) => name.endsWith('_Packages') || name.endsWith('_Packages.lz4'));
  } catch {
    return false;
  }
}

async function ensurePrograms(): Promise<void> {
  const missing = Object.keys(PROGRAMS).filter((name) => findProgram(name) === undefined);
  if (missing.length === 0) {
    say(`found ${Object.keys(PROGRAMS).join(', ')}`);
    return;
  }
  const packages = [...new Set(missing.map((name) => PROGRAMS[name] ?? name))];
  const install = ['apt-get', 'install', '-y', '--no-install-recommends', ...packages];
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      `demo: missing program${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}\n` +
        `demo: install ${packages.length > 1 ? 'them' : 'it'} as root, then run npm run demo again:\n\n` +
        `    ${install.join(' ')}\n\n`,
    );
    process.exit(1);
  }
  say(`missing ${missing.join(', ')}: installing the Debian package${packages.length > 1 ? 's' : ''} ${packages.join(', ')}`);
  say(`running: ${install.join(' ')}`);
  let result = await runShown(install);
  if (result.status !== 0 && (/Unable to locate package|has no installation candidate/i.test(result.stderr) || !hasPackageLists())) {
    say('apt-get has no package lists yet; running: apt-get update');
    const update = await runShown(['apt-get', 'update']);
    if (update.status !== 0) throw new DemoError(`apt-get update failed with status ${update.status}`);
    say(`running again: ${install.join(' ')}`);
    result = await runShown(install);
  }
  if (result.status !== 0) throw new DemoError(`${install.join(' ')} failed with status ${result.status}`);
  const still = Object.keys(PROGRAMS).filter((name) => findProgram(name) === undefined);
  if (still.length > 0) throw new DemoError(`still missing after the install: ${still.join(', ')}`);
  say(`installed ${packages.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------
// signals and clean-up

let topology: Topology | undefined;
let child: ChildProcess | undefined;
let interruptedBy: NodeJS.Signals | undefined;
let stopping: Promise<void> | undefined;

/** Stops what was started; safe to call more than once. */
function stopEverything(): Promise<void> {
  stopping ??= (async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (topology) {
      say('stopping Pebble, the emulator and both nsd servers');
      const current = topology;
      topology = undefined;
      await current.stop();
    }
  })();
  return stopping;
}

function installSignalHandlers(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (interruptedBy === undefined) {
        interruptedBy = signal;
        process.exitCode = 128 + osConstants.signals[signal];
        process.stderr.write(`\ndemo: ${signal}: stopping${child ? ' (the issue command removes the records it wrote first)' : ''}\n`);
        // The CLI runs in its own process group (a terminal's Ctrl-C does not reach it), so it
        // gets exactly one signal from here: its clean-up path, not its "second signal: exit now".
        const current = child;
        if (current && current.exitCode === null && current.signalCode === null && current.pid !== undefined) {
          try {
            process.kill(current.pid, signal);
          } catch {
            // already gone
          }
          setTimeout(() => {
            if (current.exitCode !== null || current.signalCode !== null) return;
            process.stderr.write(`demo: the issue command is still running ${KILL_GRACE_MS / 1000} s after ${signal}: sending SIGKILL\n`);
            current.kill('SIGKILL');
          }, KILL_GRACE_MS).unref();
        }
      } else if (child && child.exitCode === null && child.signalCode === null) {
        process.stderr.write(`demo: ${signal} again: killing the issue command\n`);
        child.kill('SIGKILL');
      } else {
        process.stderr.write(`demo: ${signal} again: still stopping the servers\n`);
      }
    });
  }
  // A crash of this script must not leave the CLI running (the servers' own fixtures kill theirs).
  process.on('exit', () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

function checkInterrupted(): void {
  if (interruptedBy !== undefined) throw new DemoError(`stopped by ${interruptedBy}`);
}

// ---------------------------------------------------------------------------------------------
// 3. the issue command

/** Where the certificate goes: ./demo-output/certs, or a temp dir when the cwd is read-only. */
async function outputDirectory(): Promise<string> {
  const base = resolve(process.cwd(), 'demo-output');
  try {
    await mkdir(base, { recursive: true });
    // Ignored by git without touching the repository's .gitignore.
    if (!existsSync(join(base, '.gitignore'))) await writeFile(join(base, '.gitignore'), '# written by npm run demo\n*\n');
    return join(base, 'certs');
  } catch (error) {
    const fallback = await mkdtemp(join(tmpdir(), 'miab-demo-'));
    say(`cannot write ${base} (${error instanceof Error ? error.message : String(error)}); using ${fallback}`);
    return join(fallback, 'certs');
  }
}

function runIssue(args: readonly string[], env: Record<string, string>): Promise<{ status: number; stdout: string }> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child = proc;
    let stdout = '';
    let pending = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) process.stderr.write(`   | ${line}\n`);
    });
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      process.stderr.write(`demo: the issue command is still running after ${ISSUE_TIMEOUT_MS / 1000} s: sending SIGTERM\n`);
      proc.kill('SIGTERM');
      // Its SIGTERM handler removes its records; a process that cannot run it (a blocked
      // event loop) is killed.
      killTimer = setTimeout(() => {
        process.stderr.write(`demo: the issue command ignored SIGTERM for ${KILL_GRACE_MS / 1000} s: sending SIGKILL\n`);
        proc.kill('SIGKILL');
      }, KILL_GRACE_MS);
    }, ISSUE_TIMEOUT_MS);
    const clearTimers = (): void => {
      clearTimeout(timer);
      clearTimeout(killTimer);
    };
    proc.once('error', (error) => {
      clearTimers();
      reject(error);
    });
    proc.once('close', (code, signal) => {
      clearTimers();
      if (pending !== '') process.stderr.write(`   | ${pending}\n`);
      resolvePromise({ status: code ?? 128 + (signal ? osConstants.signals[signal] : 0), stdout });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// 4. the result

async function describeCertificate(dir: string, pebble: NonNullable<Topology['pebble']>): Promise<void> {
  const fullchain = await readFile(join(dir, 'fullchain.pem'), 'utf8');
  const cert = new X509Certificate(await readFile(join(dir, 'cert.pem'), 'utf8'));
  const names = (cert.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim().replace(/^DNS:/, ''))
    .filter(Boolean);
  const missing = DOMAINS.filter((name) => !names.includes(name));
  if (missing.length > 0) throw new DemoError(`the certificate lacks ${missing.join(', ')} (it names ${names.join(', ')})`);
  await pebble.verifyIssued(fullchain);
  const expires = new Date(cert.validTo);
  const days = (expires.getTime() - Date.now()) / 86_400_000;
  say('certificate issued:');
  detail(`names    ${names.join(', ')}`);
  detail(`issuer   ${cert.issuer.replace(/\n/g, ', ')} (verified against Pebble's intermediate and root)`);
  detail(`valid    ${cert.validFrom} to ${cert.validTo} (${days.toFixed(1)} days)`);
  detail(`serial   ${cert.serialNumber}`);
  const shown = relative(process.cwd(), dir);
  say(`files kept in ${shown.startsWith('..') || shown === '' ? dir : `./${shown}`}:`);
  for (const file of ['cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem']) {
    const info = await stat(join(dir, file));
    detail(`${file.padEnd(14)} mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}  ${info.size} bytes`);
  }
  detail(`(Pebble's CA is thrown away when it stops: this certificate is for looking at only)`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  say('miab-dns01 demo: a wildcard + apex certificate through a Mail-in-a-Box with TOTP, on loopback');
  if (!existsSync(CLI)) throw new DemoError(`${CLI} does not exist: run npm run build first (npm run demo does)`);
  await ensurePrograms();
  checkInterrupted();

  say('starting the box emulator, two nsd servers and Pebble ...');
  topology = await startTopology({ pebble: true, lagMs: LAG_MS });
  // A signal during start-up: startTopology could not be cancelled, stop what it started now.
  checkInterrupted();
  const { emulator, pebble, primaryAddress, secondaryAddress, dnsPort } = topology;
  if (pebble === undefined) throw new DemoError('the topology started without Pebble');
  say(`box emulator at ${emulator.url} (admin ${TEST_EMAIL}, two-factor authentication on)`);
  say(`nsd primary at ${primaryAddress}:${dnsPort} and a secondary lagging ${LAG_MS / 1000} s at ${secondaryAddress}:${dnsPort}`);
  detail('(zones example.test and other.test; NS ns1/ns2.box.example.test point at them)');
  say(`Pebble ACME server at ${pebble.directoryUrl} (it checks DNS-01 records at the lagging secondary)`);

  const out = await outputDirectory();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? tmpdir(),
    ...(await topology.env()),
    NODE_EXTRA_CA_CERTS: pebble.caFile,
  };
  const args = [
    'issue',
    '--agree-tos',
    '--email',
    'demo@example.test',
    '--server',
    pebble.directoryUrl,
    ...DOMAINS.flatMap((name) => ['-d', name]),
    '--out',
    out,
  ];
  say(`running: miab-dns01 ${args.map((a) => (/^[\w@.:/=-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
  detail(`environment: ${Object.keys(env).sort().join(' ')}`);
  detail('(password and TOTP secret are 0600 files named by MIAB_PASSWORD_FILE / MIAB_TOTP_SECRET_FILE)');
  const issueStarted = Date.now();
  const { status, stdout } = await runIssue(args, env);
  child = undefined;
  checkInterrupted();
  if (status !== 0) {
    if (interruptedBy === undefined) {
      const log = (await pebble.readLog()).trimEnd().split('\n').slice(-15);
      process.stderr.write(`demo: the last lines of Pebble's log:\n${log.map((line) => `   pebble| ${line}`).join('\n')}\n`);
    }
    throw new DemoError(`the issue command failed with exit status ${status} (its messages are above)`);
  }
  say(`the issue command succeeded in ${((Date.now() - issueStarted) / 1000).toFixed(1)} s; it printed ${stdout.trim() || '(nothing)'}`);
  await describeCertificate(out, pebble);
  return 0;
}

/** The demo proper: runs in its own process group (see supervise). */
async function runWorker(): Promise<never> {
  installSignalHandlers();
  // Output piped into something that went away (`npm run demo | head`, a killed `tee`): keep
  // going, so the servers are still stopped.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  let status = 1;
  try {
    status = await main();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`\ndemo failed: ${message}\n`);
    status = interruptedBy !== undefined ? 128 + osConstants.signals[interruptedBy] : 1;
  } finally {
    try {
      await stopEverything();
    } catch (error) {
      process.stderr.write(`demo: stopping the servers failed: ${error instanceof Error ? error.message : String(error)}\n`);
      status ||= 1;
    }
  }
  say(status === 0 ? 'done: everything stopped' : `everything stopped; exit status ${status}`);
  // Exit explicitly: a server's lingering keep-alive socket must not keep the demo alive.
  process.exit(status);
}

/**
 * The fixtures start nsd and Pebble in this process's group, where a terminal's Ctrl-C would
 * kill them while the issue command still needs the box (and so nsd) to remove its records.
 * So this file re-runs itself detached, in a process group of its own, and passes each
 * signal it gets on to that worker exactly once; the worker stops everything in order.
 */
async function supervise(): Promise<never> {
  const script = fileURLToPath(import.meta.url);
  const worker = spawn(process.execPath, [...process.execArgv, script, ...process.argv.slice(2)], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, MIAB_DEMO_WORKER: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (worker.pid === undefined || worker.exitCode !== null || worker.signalCode !== null) return;
      try {
        process.kill(worker.pid, signal);
      } catch {
        // already gone
      }
    });
  }
  const status = await new Promise<number>((resolvePromise) => {
    worker.once('error', (error) => {
      process.stderr.write(`demo: cannot start ${script}: ${error.message}\n`);
      resolvePromise(1);
    });
    worker.once('exit', (code, signal) => resolvePromise(code ?? 128 + (signal ? osConstants.signals[signal] : 0)));
  });
  process.exit(status);
}

await (process.env.MIAB_DEMO_WORKER === '1' ? runWorker() : supervise());
