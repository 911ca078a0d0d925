/** Timed child processes with exactly the given environment (nothing inherited but PATH/HOME). */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runAgentsOf } from '../../test/fixtures/run-agents.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = `${REPO}dist/cli/main.js`;
export const HOOKS = `${REPO}hooks`;

export interface TimedRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** From spawn() to the child's exit, ms. */
  readonly ms: number;
  /** performance.now() at spawn(). */
  readonly started: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Every child the bench has running, so an interrupted bench can stop them. */
export const running = new Set<import('node:child_process').ChildProcess>();

export interface RunOptions {
  readonly timeoutMs?: number;
  readonly cwd?: string;
  /** Called with each chunk of the child's stderr and the time it arrived (performance.now()). */
  readonly onStderr?: (text: string, at: number) => void;
}

export function timedRun(argv: readonly string[], env: Readonly<Record<string, string>>, options: RunOptions = {}): Promise<TimedRun> {
  const [file = '', ...args] = argv;
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, {
      cwd: options.cwd ?? REPO,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: env.HOME ?? '/nonexistent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(chunk.toString(), performance.now());
    });
    let ended = 0;
    child.once('exit', () => (ended = performance.now()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      running.delete(child);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal, ms: (ended || performance.now()) - started, started, stdout, stderr });
    });
  });
}

/** Like certbot, which runs hooks with `subprocess.run(cmd, shell=True)`. */
export function shell(command: string): string[] {
  return ['/bin/sh', '-c', command];
}

/** Fails loudly: a benchmark of a failing command measures nothing. */
export function expectSuccess(run: TimedRun, what: string): TimedRun {
  if (run.code !== 0) throw new Error(`${what} exited with ${run.code ?? run.signal}:\n${run.stderr.trim()}`);
  return run;
}

/**
 * Runs argv under a small python3 wrapper that reports the child's own wall time and CPU
 * time (user + system, every thread and descendant waited for, from wait4's rusage) on its
 * last stderr line. CPU time barely moves when other jobs load the machine; wall time does.
 */
const RUSAGE = [
  'import os, sys, time',
  't = time.perf_counter()',
  'pid = os.fork()',
  'if pid == 0:',
  '    os.execv(sys.argv[1], sys.argv[1:])',
  '_, status, ru = os.wait4(pid, 0)',
  'wall = time.perf_counter() - t',
  'sys.stderr.write("\\nmiab-bench-rusage %.6f %.6f\\n" % (wall, ru.ru_utime + ru.ru_stime))',
  'sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8)',
].join('\n');

export interface MeasuredRun extends TimedRun {
  /** The child's wall time, measured by the wrapper (its own start-up excluded), ms. */
  readonly wallMs: number;
  /** The child's CPU time (user + system, all threads), ms. */
  readonly cpuMs: number;
}

export async function measuredRun(argv: readonly string[], env: Readonly<Record<string, string>>, options: RunOptions = {}): Promise<MeasuredRun> {
  const run = await timedRun(['/usr/bin/python3', '-c', RUSAGE, ...argv], env, options);
  const match = /\nmiab-bench-rusage ([\d.]+) ([\d.]+)\n$/.exec(run.stderr);
  if (match === null) throw new Error(`no rusage line from ${argv.join(' ')} (exit ${run.code ?? run.signal}):\n${run.stderr.trim()}`);
  return { ...run, stderr: run.stderr.slice(0, match.index), wallMs: Number(match[1]) * 1000, cpuMs: Number(match[2]) * 1000 };
}

/**
 * A stand-in for certbot's process: one long-lived python3 process that runs hook commands
 * through `/bin/sh -c` as certbot does (`subprocess.run(cmd, shell=True)`), one at a time, and
 * reports each child's wall and CPU time from wait4. Being the hooks' parent, it is their
 * owner: one stand-in is one certbot run, with one run agent (src/agent), ended with it.
 */
const STANDIN = [
  'import json, os, sys, time',
  'for line in sys.stdin:',
  '    job = json.loads(line)',
  '    read_end, write_end = os.pipe()',
  '    t = time.perf_counter()',
  '    pid = os.fork()',
  '    if pid == 0:',
  '        os.dup2(write_end, 1); os.dup2(write_end, 2)',
  '        os.execve("/bin/sh", ["/bin/sh", "-c", job["command"]], job["env"])',
  '    os.close(write_end)',
  '    chunks = []',
  '    while True:',
  '        chunk = os.read(read_end, 65536)',
  '        if not chunk: break',
  '        chunks.append(chunk)',
  '    os.close(read_end)',
  '    _, status, ru = os.wait4(pid, 0)',
  '    wall = time.perf_counter() - t',
  '    code = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8',
  '    sys.stdout.write(json.dumps({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "code": code, "output": b"".join(chunks).decode("utf-8", "replace")}) + "\\n")',
  '    sys.stdout.flush()',
].join('\n');

export class CertbotStandIn {
  readonly #child: import('node:child_process').ChildProcessWithoutNullStreams;
  readonly #answers: ((line: string) => void)[] = [];
  readonly #closed: Promise<unknown>;
  #buffer = '';

  constructor() {
    this.#child = spawn('/usr/bin/python3', ['-c', STANDIN], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(this.#child);
    this.#closed = new Promise((resolve) => this.#child.once('close', resolve));
    this.#child.stdout.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString();
      let end = this.#buffer.indexOf('\n');
      while (end >= 0) {
        this.#answers.shift()?.(this.#buffer.slice(0, end));
        this.#buffer = this.#buffer.slice(end + 1);
        end = this.#buffer.indexOf('\n');
      }
    });
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  /** Runs one hook command line with exactly this environment (plus PATH and HOME). */
  run(command: string, env: Readonly<Record<string, string>>): Promise<MeasuredRun> {
    const started = performance.now();
    return new Promise((resolve) => {
      this.#answers.push((line) => {
        const ended = performance.now();
        const answer = JSON.parse(line) as { wall: number; cpu: number; code: number; output: string };
        resolve({ code: answer.code, signal: null, ms: ended - started, started, stdout: '', stderr: answer.output, wallMs: answer.wall * 1000, cpuMs: answer.cpu * 1000 });
      });
      this.#child.stdin.write(`${JSON.stringify({ command, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: env.HOME ?? '/nonexistent', ...env } })}\n`);
    });
  }

  /** Ends the "certbot run": its agent ends with it (within a quarter second). */
  async stop(): Promise<void> {
    this.#child.stdin.end();
    await this.#closed;
    running.delete(this.#child);
  }
}

/** The run agent serving the run of `ownerPid` (a stand-in). */
export function agentOf(ownerPid: number): number | undefined {
  return runAgentsOf(ownerPid)[0]?.pid;
}

/** CPU time (user + system) a running process has used so far, ms (/proc counts in 1/100 s). */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Resolves once the run's agent has ended (its owner stopped). */
export async function agentEnded(ownerPid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (agentOf(ownerPid) !== undefined) {
    if (performance.now() > deadline) throw new Error(`the run agent of stand-in ${ownerPid} did not end`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
