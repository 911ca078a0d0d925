import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchDir } from '../../test/fixtures/scratch.js';
import { isStale, type JournalEntry } from '../records/journal.js';
import { isProcessAlive, processIdentity } from './processes.js';

function stateOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/**
 * A real zombie: `sh` starts `sleep` in the background and then execs into another `sleep`,
 * which never reaps its child. Killing the background sleep with -9 leaves it in state Z, as a
 * crashed client does in a container whose PID 1 does not reap.
 */
async function makeZombie(): Promise<number> {
  const parent = spawn('sh', ['-c', 'sleep 60 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  cleanups.push(() => parent.kill('SIGKILL'));
  const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
  // Kill only once the shell has become the non-reaping sleep.
  const comm = (): string => readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim();
  for (let attempt = 0; attempt < 100 && comm() !== 'sleep'; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
  process.kill(pid, 'SIGKILL');
  for (let attempt = 0; attempt < 100 && stateOf(pid) !== 'Z'; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(stateOf(pid)).toBe('Z');
  return pid;
}

function entry(pid: number, ownerPid: number, extra: Partial<JournalEntry> = {}): JournalEntry {
  return { apiUrl: 'u', requestedName: 'n', fqdn: 'n', zone: 'z', value: 'v', pid, ownerPid, createdAt: new Date().toISOString(), ...extra };
}

describe('process identity', () => {
  it('a zombie is gone, and a record whose writer and owner are zombies is stale', async () => {
    const writer = await makeZombie();
    const owner = await makeZombie();
    expect(isProcessAlive(writer)).toBe(false);
    expect(isStale(entry(writer, owner), Date.now())).toBe(true);
  });

  it('a live process is alive only with its own start time: a reused PID is another process', () => {
    const me = processIdentity(process.pid);
    expect(me.startTime).toBeGreaterThan(0);
    expect(isProcessAlive(process.pid, me.startTime)).toBe(true);
    expect(isProcessAlive(process.pid)).toBe(true);
    const reused = (me.startTime ?? 0) - 1;
    expect(isProcessAlive(process.pid, reused)).toBe(false);
    // Our PID, but journaled by an earlier process that had it: stale, not ours.
    expect(isStale(entry(process.pid, process.pid, { startTime: reused, ownerStartTime: reused }), Date.now())).toBe(true);
    expect(isStale(entry(process.pid, process.pid, { startTime: me.startTime, ownerStartTime: me.startTime }), Date.now())).toBe(false);
  });

  it('a record without an owner (typed in a shell) is stale once its writer is gone, and in use while it lives', async () => {
    const writer = await makeZombie();
    const { ownerPid: _none, ...ownerless } = entry(writer, 0);
    expect(isStale(ownerless, Date.now())).toBe(true);
    expect(isStale({ ...ownerless, pid: process.pid }, Date.now())).toBe(false);
    // With a live owner (an ACME client's run), the dead writer's record stays.
    expect(isStale(entry(writer, process.pid), Date.now())).toBe(false);
  });

  it('an exited process is gone', () => {
    const { pid } = spawnSync(process.execPath, ['-e', '0']);
    expect(isProcessAlive(pid)).toBe(false);
  });
});

describe('findCertbotPid', () => {
  it('is certbot (the nearest ancestor without CERTBOT_DOMAIN), past a wrapper script that findOwnerPid takes for the owner', async () => {
    const dir = await scratchDir('certbot-pid');
    try {
      const module = new URL('./processes.ts', import.meta.url).href;
      // The probe runs under tsx, as this suite does; it prints what both lookups find.
      await writeFile(join(dir, 'probe.ts'), `import { findCertbotPid, findOwnerPid } from ${JSON.stringify(module)};\nconsole.log(findCertbotPid(), findOwnerPid());\n`);
      const node = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(join(dir, 'probe.ts'))}`;
      await writeFile(join(dir, 'my-hook.sh'), `#!/bin/sh\n${node}\ntrue\n`, { mode: 0o700 });
      // certbot sets its variables for the hook only; the hook runs a wrapper, without exec.
      await writeFile(join(dir, 'certbot.sh'), `#!/bin/sh\necho "certbot $$"\nCERTBOT_DOMAIN=a.example.test sh -c ${JSON.stringify(`${join(dir, 'my-hook.sh')}; true`)}\ntrue\n`, { mode: 0o700 });
      const result = spawnSync(join(dir, 'certbot.sh'), { encoding: 'utf8', cwd: process.cwd() });
      expect(result.status, result.stderr).toBe(0);
      const [certbotLine, probeLine] = result.stdout.trim().split('\n');
      const certbot = Number(certbotLine?.split(' ')[1]);
      const [found, owner] = (probeLine ?? '').split(' ').map(Number);
      expect(found).toBe(certbot);
      expect(owner).not.toBe(certbot);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
