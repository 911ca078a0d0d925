/**
 * Entry of the `emulator` service of docker-compose.test.yml.
 *
 * Runs the standalone emulator (`node --import tsx test/emulator/main.ts`) as a child with
 * MIAB_EMU_LOG_ZONES=1, so it prints every zone set it publishes as one JSON line on stderr,
 * and turns those lines into nsd zone files, like the box's dns_update.py writes them:
 *
 *   $ZONES_DIR/primary/<zone>.zone     at once (the box's own nsd, reloaded inside the request)
 *   $ZONES_DIR/secondary/<zone>.zone   $SECONDARY_LAG_MS later, snapshots strictly in order
 *                                      (an external secondary that lags behind)
 *
 * The zone files are rendered by test/fixtures/nsd.ts (the box's SOA, NS and TTLs). After
 * the files of a snapshot, `<dir>/serial` gets a new number: the nsd containers
 * (test/docker/nsd-entry.sh) watch it and run `nsd-control reload`. The two nsd containers
 * share nothing else with this one than that volume.
 *
 * Environment: every MIAB_EMU_* variable of test/emulator/main.ts, plus
 *   ZONES_DIR          (default /zones)
 *   SECONDARY_LAG_MS   (default 3000)
 *   WAIT_FOR_FILES     comma list of files to wait for before starting (the TLS key and
 *                      certificate the `certs` service writes); 120 s at most.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { renderZone } from '../fixtures/nsd.js';
import type { ZoneData } from '../fixtures/zones.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const ZONES_DIR = process.env.ZONES_DIR ?? '/zones';
const LAG_MS = Number(process.env.SECONDARY_LAG_MS ?? '3000');
const log = (message: string): void => void process.stderr.write(`[emulator-entry] ${message}\n`);

let snapshot = 0;

/** Writes every zone file (temp file + rename), then the serial file nsd-entry.sh watches. */
async function writeSnapshot(dir: string, zones: readonly ZoneData[], number: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const zone of zones) {
    const file = join(dir, `${zone.name}.zone`);
    await writeFile(`${file}.tmp`, renderZone(zone));
    await rename(`${file}.tmp`, file);
  }
  await writeFile(join(dir, 'serial.tmp'), `${number}\n`);
  await rename(join(dir, 'serial.tmp'), join(dir, 'serial'));
}

let secondaryChain: Promise<void> = Promise.resolve();

async function publish(zones: readonly ZoneData[]): Promise<void> {
  const number = ++snapshot;
  await writeSnapshot(join(ZONES_DIR, 'primary'), zones, number);
  // The first snapshot is what both servers start with; later ones reach the secondary late.
  const lag = number === 1 ? 0 : LAG_MS;
  const due = sleep(lag);
  secondaryChain = secondaryChain.then(async () => {
    await due;
    await writeSnapshot(join(ZONES_DIR, 'secondary'), zones, number);
  });
  secondaryChain.catch((error: unknown) => log(`writing the secondary's zones failed: ${String(error)}`));
}

async function waitForFiles(): Promise<void> {
  const files = (process.env.WAIT_FOR_FILES ?? '').split(',').filter(Boolean);
  const deadline = Date.now() + 120_000;
  for (const file of files) {
    while (!existsSync(file)) {
      if (Date.now() > deadline) throw new Error(`${file} did not appear within 120 s`);
      await sleep(200);
    }
  }
}

async function main(): Promise<void> {
  await waitForFiles();
  const emulator = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/emulator/main.ts')], {
    cwd: REPO,
    env: { ...process.env, MIAB_EMU_LOG_ZONES: '1' },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => emulator.kill(signal));
  }
  let pending = '';
  let writing: Promise<void> = Promise.resolve();
  emulator.stderr.setEncoding('utf8');
  emulator.stderr.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      let parsed: unknown;
      try {
        parsed = line.startsWith('{') ? JSON.parse(line) : undefined;
      } catch {
        parsed = undefined;
      }
      if (typeof parsed === 'object' && parsed !== null && 'published' in parsed && Array.isArray(parsed.published)) {
        const zones = parsed.published as ZoneData[];
        writing = writing.then(() => publish(zones)).catch((error: unknown) => log(`writing zones failed: ${String(error)}`));
        log(`published ${zones.map((z) => `${z.name} (serial ${z.serial})`).join(', ')}`);
      } else {
        process.stderr.write(`${line}\n`);
      }
    }
  });
  const status = await new Promise<number>((resolve) => {
    emulator.once('exit', (code, signal) => resolve(code ?? (signal ? 0 : 1)));
  });
  await writing;
  process.exit(status);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    log(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
