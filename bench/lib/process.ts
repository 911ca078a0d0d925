/** Timed child processes with exactly the given environment (nothing inherited but PATH/HOME). */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

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
