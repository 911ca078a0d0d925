/**
 * The test topology (emulator with TOTP, nsd primary, lagging nsd secondary, all on loopback)
 * with taps on both publishers, so a benchmark knows when the box's write reached the primary
 * and when the secondary starts and finishes loading each snapshot.
 */
import { mkdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
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
  stop(): Promise<void>;
}

/** True when a snapshot holds a TXT record with this value. */
export function snapshotHas(zones: readonly ZoneData[], value: string): boolean {
  return zones.some((zone) => zone.records.some((record) => record.type.toUpperCase() === 'TXT' && record.value === value));
}

export async function startBenchTopology(lagMs: number): Promise<BenchTopology> {
  const topology = await startTopology({ zones: ['example.test'], lagMs });
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
    bench.onPrimaryPublishing?.(zones, performance.now());
    await primaryPublish(zones);
    bench.onPrimaryPublished?.(zones, performance.now());
  };
  const secondaryPublish = secondary.publish.bind(secondary);
  secondary.publish = async (zones) => {
    bench.onSecondaryPublishing?.(zones, performance.now());
    await secondaryPublish(zones);
    bench.onSecondaryPublished?.(zones, performance.now());
  };
  return bench;
}
