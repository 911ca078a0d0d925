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
