/**
 * Process identity and ownership. A process is identified by its PID and its start time
 * (/proc/PID/stat field 22, clock ticks since boot): a PID alone can be reused by an unrelated
 * process, and a zombie (state Z, killed but not reaped) still answers kill(pid, 0).
 *
 * Which process owns a journaled record. Hooks run as `client -> sh -c -> hook script -> node`,
 * so our direct parent is a short-lived shell; the owner that matters is the first ancestor
 * that is not a shell or a wrapper: the ACME client itself, or the script that ran us. A shell
 * that reads its commands from a person (a terminal, its stdin) is no ACME run: a command typed
 * there has no owner, so its records go stale as soon as the writer is gone, although the
 * shell stays open.
 */
import { readFileSync } from 'node:fs';

/** Our own launchers (the hook scripts). A `node` parent is a Node program that ran us: an owner. */
const OWN_WRAPPERS = new Set(['miab-dns01', 'certbot-auth', 'certbot-cleanup', 'lego-exec', 'dehydrated-hook']);
const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'busybox']);

interface ProcessInfo {
  readonly comm: string;
  readonly ppid: number;
  /** Field 3: R, S, D, Z (zombie), X (dead), ... */
  readonly state: string;
  /** Field 22: start time in clock ticks after boot. */
  readonly startTime: number;
  /** A `sh -c '...'` shell lives only as long as the one command it runs. */
  readonly commandShell: boolean;
  /** Raw /proc/PID/cmdline. */
  readonly cmdline: string;
  /** A shell reading commands from a terminal or its stdin (no script operand, or -i / -s). */
  readonly interactiveShell: boolean;
}

interface ProcessStat {
  readonly comm: string;
  readonly state: string;
  readonly ppid: number;
  readonly startTime: number;
}

/** Parsed /proc/PID/stat, or undefined when there is no such process (or no /proc). */
function readStat(pid: number): ProcessStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: it spans from the first '(' to the last ')'.
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  // After comm: field 3 (state) is index 0, field 4 (ppid) index 1, field 22 (starttime) index 19.
  const fields = stat.slice(close + 2).split(' ');
  return { comm: stat.slice(open + 1, close), state: fields[0] ?? '', ppid: Number(fields[1]), startTime: Number(fields[19]) };
}

function readProcess(pid: number): ProcessInfo | undefined {
  const stat = readStat(pid);
  if (stat === undefined) return undefined;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const shell = SHELLS.has(stat.comm);
    return { ...stat, commandShell: shell && argv[1] === '-c', cmdline: argv.join('\0'), interactiveShell: shell && readsCommandsInteractively(argv.slice(1)) };
  } catch {
    return undefined;
  }
}

/** Shell options whose value is the next argument (dash, bash). */
const OPTIONS_WITH_VALUE = new Set(['-o', '+o', '-O', '+O', '--rcfile', '--init-file']);

/**
 * Whether a shell with these arguments (after argv[0]) reads its commands from a person
 * rather than from a script file or a `-c` string: no operand, or `-i` / `-s`.
 */
function readsCommandsInteractively(args: readonly string[]): boolean {
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? '';
    if (arg === '--') return index + 1 >= args.length || args[index + 1] === '';
    if (OPTIONS_WITH_VALUE.has(arg)) {
      index++;
      continue;
    }
    if (arg.startsWith('--')) continue;
    if (/^[-+][a-zA-Z]+$/.test(arg)) {
      if (/^-[a-zA-Z]*[cis]/.test(arg)) return !arg.includes('c');
      continue;
    }
    return arg === '';
  }
  return true;
}

/** A process as journals and locks record it. `startTime` is absent on systems without /proc. */
export interface ProcessIdentity {
  readonly pid: number;
  readonly startTime?: number;
}

/** The identity of a running process (PID and start time), as stored in journals and locks. */
export function processIdentity(pid: number): ProcessIdentity {
  const startTime = readStat(pid)?.startTime;
  return startTime === undefined || !Number.isFinite(startTime) ? { pid } : { pid, startTime };
}

/**
 * A forked copy of its parent (same program, same argv, not exec'd since): a subshell
 * `( ... )`, `$( ... )` or pipeline member of a shell script. acme.sh runs every dnsapi call
 * in such a subshell, which exits right after the call while acme.sh still needs the record.
 */
function isForkOfParent(info: ProcessInfo): boolean {
  const parent = readProcess(info.ppid);
  return parent !== undefined && parent.comm === info.comm && parent.cmdline === info.cmdline;
}

/**
 * PID of the program that ran us: our parent, skipping our own hook wrappers, the
 * transient `sh -c` an ACME client runs hooks through and subshells of a script. A shell
 * script that calls us is the owner itself (when it dies mid-run, its records become stale).
 * Undefined when that program is an interactive shell: a person typing commands is no ACME
 * run, and the shell outliving a killed command must not keep its records "in use".
 */
export function findOwnerPid(): number | undefined {
  let pid = process.ppid;
  for (let depth = 0; depth < 8 && pid > 1; depth++) {
    const info = readProcess(pid);
    if (info === undefined) return process.ppid;
    if (info.interactiveShell) return undefined;
    if (!OWN_WRAPPERS.has(info.comm) && !info.commandShell && !isForkOfParent(info)) return pid;
    pid = info.ppid;
  }
  return pid > 1 ? pid : process.ppid;
}

/**
 * PID of the certbot process that ran this hook: the nearest ancestor whose environment does
 * not hold CERTBOT_DOMAIN. certbot sets its variables for the hook only, so every process
 * between it and us has them (its `sh -c`, and a user's wrapper script that runs our hook
 * without exec, which findOwnerPid would take for the owner). Undefined when an ancestor's
 * environment cannot be read or none is found.
 */
export function findCertbotPid(): number | undefined {
  let pid = process.ppid;
  for (let depth = 0; depth < 8 && pid > 1; depth++) {
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      return undefined;
    }
    if (!environ.split('\0').some((entry) => entry.startsWith('CERTBOT_DOMAIN='))) return pid;
    const stat = readStat(pid);
    if (stat === undefined) return undefined;
    pid = stat.ppid;
  }
  return undefined;
}

/**
 * Whether the process is still running: it exists, is not a zombie, and (when `startTime` is
 * given) is the same process that had this PID then, not a later one that reused it.
 */
export function isProcessAlive(pid: number, startTime?: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const stat = readStat(pid);
  if (stat !== undefined) {
    if (stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') return false;
    return startTime === undefined || stat.startTime === startTime;
  }
  // No /proc entry: either the process is gone, or this system has no /proc (ask the kernel).
  if (procAvailable()) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return typeof error === 'object' && error !== null && 'code' in error && error.code === 'EPERM';
  }
}

let hasProc: boolean | undefined;
function procAvailable(): boolean {
  hasProc ??= readStat(process.pid) !== undefined;
  return hasProc;
}
