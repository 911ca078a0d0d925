/**
 * Where the run agent of a hook call listens. Loaded by every hook process before anything
 * else, so it uses Node's built-ins only.
 *
 * One agent serves one ACME run with one configuration: the socket's name holds the run's
 * owner (PID and start time) and a hash of everything that could change what a call does
 * (arguments, working directory, environment without certbot's per-call variables, the
 * credentials file's identity, our own build). Calls that differ in any of these reach
 * different agents, so an agent never serves a call it was not started for.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ProcessIdentity } from '../state/processes.js';

/** certbot's variables that change from one hook call of a run to the next. */
export const PER_CALL_VARIABLES = new Set(['CERTBOT_DOMAIN', 'CERTBOT_VALIDATION', 'CERTBOT_REMAINING_CHALLENGES', 'CERTBOT_AUTH_OUTPUT', 'CERTBOT_TOKEN']);

/** Which of certbot's hooks is called changes from call to call too: both reach the run's agent. */
const PER_CALL_ARGUMENTS = new Set(['certbot-auth', 'certbot-cleanup']);

/** Linux's sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export interface AgentCall {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** `MIAB_DNS01_AGENT=0` (or off, false, no) makes every hook call do its own work. */
export function agentDisabled(env: Readonly<Record<string, string | undefined>>): boolean {
  const value = env.MIAB_DNS01_AGENT?.toLowerCase();
  return value !== undefined && ['0', 'off', 'false', 'no'].includes(value);
}

/**
 * The per-user directory of agent sockets: created 0700 and refused unless it is ours, a real
 * directory and closed to others (a socket there is the only gate to the box credentials).
 */
export function agentDirectory(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const dir = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'miab-dns01') : join(tmpdir(), `miab-dns01-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) return undefined;
  }
  try {
    const stat = lstatSync(dir);
    return stat.isDirectory() && stat.uid === uid && (stat.mode & 0o077) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

function fileIdentity(path: string | undefined, cwd: string): string {
  if (path === undefined || path === '') return '';
  try {
    const stat = statSync(resolve(cwd, path));
    return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** The value after `--config` / `--config=` in the arguments, if any. */
function configFlag(argv: readonly string[]): string | undefined {
  for (let index = 0; index < argv.length; index++) {
    const token = argv[index] ?? '';
    if (token === '--config') return argv[index + 1];
    if (token.startsWith('--config=')) return token.slice('--config='.length);
  }
  return undefined;
}

/** The socket for this call's run, or undefined when there can be none (no safe directory, path too long). */
export function agentAddress(call: AgentCall, owner: ProcessIdentity, build: string): string | undefined {
  const dir = agentDirectory(call.env);
  if (dir === undefined) return undefined;
  const env = Object.entries(call.env)
    .filter(([name, value]) => value !== undefined && !PER_CALL_VARIABLES.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash('sha256')
    .update(JSON.stringify([call.argv.map((arg) => (PER_CALL_ARGUMENTS.has(arg) ? 'certbot-hook' : arg)), call.cwd, env, fileIdentity(call.env.MIAB_CONFIG, call.cwd), fileIdentity(configFlag(call.argv), call.cwd), fileIdentity(build, call.cwd), owner.startTime ?? '']))
    .digest('hex')
    .slice(0, 24);
  const path = join(dir, `${owner.pid}-${hash}.sock`);
  return path.length <= MAX_SOCKET_PATH ? path : undefined;
}
