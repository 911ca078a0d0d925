/**
 * Which process owns a journaled record. Hooks run as `client -> sh -c -> hook script -> node`,
 * so our direct parent is a short-lived shell; the owner that matters is the first ancestor
 * that is not a shell or a wrapper: the ACME client itself.
 */
import { readFileSync } from 'node:fs';

/** Our own launchers: the hook scripts and node itself. */
const OWN_WRAPPERS = new Set(['node', 'miab-dns01', 'certbot-auth', 'certbot-cleanup', 'lego-exec', 'dehydrated-hook']);
const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'busybox']);

interface ProcessInfo {
  readonly comm: string;
  readonly ppid: number;
  /** A `sh -c '...'` shell lives only as long as the one command it runs. */
  readonly commandShell: boolean;
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
    return { comm, ppid: Number(fields[1]), commandShell: SHELLS.has(comm) && argv[1] === '-c' };
  } catch {
    return undefined;
  }
}

/**
 * PID of the program that ran us: our parent, skipping our own hook wrappers and the
 * transient `sh -c` an ACME client runs hooks through. A shell script that calls us is the
 * owner itself (when it dies mid-run, its records become stale).
 */
export function findOwnerPid(): number {
  let pid = process.ppid;
  for (let depth = 0; depth < 6 && pid > 1; depth++) {
    const info = readProcess(pid);
    if (info === undefined) return process.ppid;
    if (!OWN_WRAPPERS.has(info.comm) && !info.commandShell) return pid;
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
