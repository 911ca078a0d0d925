/**
 * The test topology (emulator with TOTP, nsd primary, lagging nsd secondary, all on loopback)
 * with taps on both publishers, so a benchmark knows when the box's write reached the primary
 * and when the secondary starts and finishes loading each snapshot.
 */
import { mkdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTopology, type Topology } from '../../test/fixtures/topology.js';
import type { ZoneData } from '../../test/fixtures/zones.js';
import type { DnsServer } from '../../src/propagation/address.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { silentLogger } from '../../src/util/log.js';

export type PublishListener = (zones: readonly ZoneData[], at: number) => void;

export interface BenchTopology {
  readonly topology: Topology;
  readonly primaryServer: DnsServer;
  readonly secondaryServer: DnsServer;
  /** Called when the box starts loading a snapshot into the primary (inside its write request). */
  onPrimaryPublishing: PublishListener | undefined;
  /** Called when the primary has loaded a snapshot (the box answers the write right after). */
  onPrimaryPublished: PublishListener | undefined;
  /** Called when the secondary starts loading a snapshot (the lag has passed). */
  onSecondaryPublishing: PublishListener | undefined;
  /** Called when the secondary's publish() resolved (nsd answers with the new serial). */
  onSecondaryPublished: PublishListener | undefined;
  /** Environment for the CLI and hooks, with this state dir (default: the shared one). */
  env(stateDir?: string, extra?: Readonly<Record<string, string>>): Promise<Record<string, string>>;
  /** An in-process runtime (library API) on the shared state dir, silent. */
  openRuntime(stateDir?: string): Promise<Runtime>;
  /** A fresh, empty state dir. */
  newStateDir(): Promise<string>;
  readonly sharedStateDir: string;
  /** The box's time per changing write (padding included), ms; change it between runs. */
  writeMs: number;
  /** Every changing write's time at the box since the last reset (ms, in order). */
  readonly writeTimes: number[];
  stop(): Promise<void>;
}

/** True when a snapshot holds a TXT record with this value. */
export function snapshotHas(zones: readonly ZoneData[], value: string): boolean {
  return zones.some((zone) => zone.records.some((record) => record.type.toUpperCase() === 'TXT' && record.value === value));
}

/** What the real box spends on one changing write (POST median 201 ms, DELETE 194 ms on a v75 box). */
export const REAL_BOX_WRITE_MS = 200;

export interface BenchTopologyOptions {
  readonly lagMs: number;
  /**
   * How long each changing write takes at the box, nsd reload included: the primary's
   * publish (inside the write request, inside the emulator's one-request-at-a-time worker,
   * like the box's single gunicorn worker) is padded to this. 0: the emulator's own speed.
   */
  readonly writeMs?: number;
  /** Start Pebble too (validating against the lagging secondary). */
  readonly pebble?: boolean;
}

export async function startBenchTopology(options: BenchTopologyOptions | number): Promise<BenchTopology> {
  const { lagMs, writeMs = 0, pebble = false } = typeof options === 'number' ? { lagMs: options } : options;
  const topology = await startTopology({ zones: ['example.test'], lagMs, pebble });
  const sharedStateDir = await topology.newStateDir();
  await mkdir(sharedStateDir, { recursive: true, mode: 0o700 });
  const bench: BenchTopology = {
    topology,
    primaryServer: { host: topology.primaryAddress, port: topology.dnsPort },
    secondaryServer: { host: topology.secondaryAddress, port: topology.dnsPort },
    onPrimaryPublishing: undefined,
    onPrimaryPublished: undefined,
    onSecondaryPublishing: undefined,
    onSecondaryPublished: undefined,
    sharedStateDir,
    writeMs,
    writeTimes: [],
    env: (stateDir = sharedStateDir, extra = {}) => topology.env({ MIAB_STATE_DIR: stateDir, ...extra }),
    openRuntime: async (stateDir = sharedStateDir) =>
      openRuntime({ env: await topology.env({ MIAB_STATE_DIR: stateDir }), log: silentLogger, progress: () => undefined, isTTY: false }),
    newStateDir: async () => {
      const dir = await topology.newStateDir();
      await mkdir(dir, { recursive: true, mode: 0o700 });
      return dir;
    },
    stop: () => topology.stop(),
  };
  // The emulator holds these very objects and calls publish() as a method: replacing the
  // method on the instance taps every snapshot without touching the fixtures.
  const { primary, secondary } = topology;
  const primaryPublish = primary.publish.bind(primary);
  primary.publish = async (zones) => {
    const started = performance.now();
    bench.onPrimaryPublishing?.(zones, started);
    await primaryPublish(zones);
    // The box rebuilds its zones and reloads nsd before it answers: the rest of its write time.
    const rest = bench.writeMs - (performance.now() - started);
    if (rest > 0) await sleep(rest);
    const done = performance.now();
    bench.writeTimes.push(done - started);
    bench.onPrimaryPublished?.(zones, done);
  };
  const secondaryPublish = secondary.publish.bind(secondary);
  secondary.publish = async (zones) => {
    bench.onSecondaryPublishing?.(zones, performance.now());
    await secondaryPublish(zones);
    bench.onSecondaryPublished?.(zones, performance.now());
  };
  return bench;
}
