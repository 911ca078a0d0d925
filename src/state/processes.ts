/**
 * Which process owns a journaled record. Hooks run as `client -> sh -c -> hook script -> node`,
 * so our direct parent is a short-lived shell; the owner that matters is the first ancestor
 * that is not a shell or a wrapper: the ACME client itself.
 */
import { readFileSync } from 'node:fs';

/** Our own launchers (the hook scripts). A `node` parent is a Node program that ran us: an owner. */
const OWN_WRAPPERS = new Set(['miab-dns01', 'certbot-auth', 'certbot-cleanup', 'lego-exec', 'dehydrated-hook']);
const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'busybox']);

interface ProcessInfo {
  readonly comm: string;
  readonly ppid: number;
  /** A `sh -c '...'` shell lives only as long as the one command it runs. */
  readonly commandShell: boolean;
  /** Raw /proc/PID/cmdline. */
  readonly cmdline: string;
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: it spans from the first '(' to the last ')'.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    const comm = stat.slice(open + 1, close);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return { comm, ppid: Number(fields[1]), commandShell: SHELLS.has(comm) && argv[1] === '-c', cmdline: argv.join('\0') };
  } catch {
    return undefined;
  }
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
 */
export function findOwnerPid(): number {
  let pid = process.ppid;
  for (let depth = 0; depth < 8 && pid > 1; depth++) {
    const info = readProcess(pid);
    if (info === undefined) return process.ppid;
    if (!OWN_WRAPPERS.has(info.comm) && !info.commandShell && !isForkOfParent(info)) return pid;
    pid = info.ppid;
  }
  return pid > 1 ? pid : process.ppid;
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return typeof error === 'object' && error !== null && 'code' in error && error.code === 'EPERM';
  }
}
