/**
 * The box's zone list and CNAMEs, read once per ACME run and shared by all of its hook
 * processes through a 0600 file in the state dir. certbot runs one auth hook per name: without
 * this each would ask the box for the zones and the CNAME again. Keyed by the run's owner
 * process and kept briefly, so a new run, or a name the snapshot does not know, reads afresh.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isRecord, readJsonFile, removeFile, writePrivateFile } from '../../state/files.js';

export interface LookupSource {
  zones(): Promise<string[]>;
  cnames(): Promise<Record<string, string>>;
}

interface SnapshotFile {
  readonly takenAt: number;
  readonly zones?: string[];
  readonly cnames?: Record<string, string>;
}

function isSnapshotFile(value: unknown): value is SnapshotFile {
  return isRecord(value) && typeof value.takenAt === 'number';
}

export interface LookupSnapshotOptions {
  readonly stateDir: string;
  readonly apiUrl: string;
  /** The ACME run (client process) the snapshot belongs to. */
  readonly ownerPid: number;
  /** How long a snapshot serves later processes of the same run. @default 120_000 */
  readonly maxAgeMs?: number;
}

export class LookupSnapshot {
  readonly #source: LookupSource;
  readonly #path: string;
  readonly #maxAgeMs: number;
  #snapshot: SnapshotFile | undefined;

  constructor(source: LookupSource, options: LookupSnapshotOptions) {
    this.#source = source;
    const id = createHash('sha256').update(`${options.apiUrl}\n${options.ownerPid}`).digest('hex').slice(0, 24);
    this.#path = join(options.stateDir, 'lookups', `${id}.json`);
    this.#maxAgeMs = options.maxAgeMs ?? 120_000;
  }

  async #current(): Promise<SnapshotFile> {
    if (this.#snapshot === undefined) {
      const stored = await readJsonFile(this.#path, isSnapshotFile);
      if (stored !== undefined && Date.now() - stored.takenAt < this.#maxAgeMs) {
        this.#snapshot = stored;
      } else {
        this.#snapshot = { takenAt: Date.now() };
        await this.#sweepExpired();
      }
    }
    return this.#snapshot;
  }

  async #fill(part: Partial<SnapshotFile>): Promise<void> {
    this.#snapshot = { ...(await this.#current()), ...part };
    await writePrivateFile(this.#path, JSON.stringify(this.#snapshot));
  }

  async zones(): Promise<string[]> {
    const current = await this.#current();
    if (current.zones !== undefined) return current.zones;
    const zones = await this.#source.zones();
    await this.#fill({ zones });
    return zones;
  }

  async cnames(): Promise<Record<string, string>> {
    const current = await this.#current();
    if (current.cnames !== undefined) return current.cnames;
    const cnames = await this.#source.cnames();
    await this.#fill({ cnames });
    return cnames;
  }

  /** The CNAMEs the snapshot holds, without reading the box; undefined when it holds none yet. */
  async knownCnames(): Promise<Record<string, string> | undefined> {
    return (await this.#current()).cnames;
  }

  /** Corrects one name in a snapshot that holds the table (after the nameservers answered for it). */
  async correctCname(name: string, target: string | undefined): Promise<void> {
    const cnames = (await this.#current()).cnames;
    if (cnames === undefined || cnames[name] === target) return;
    const corrected = { ...cnames };
    if (target === undefined) delete corrected[name];
    else corrected[name] = target;
    await this.#fill({ cnames: corrected });
  }

  /** Stores CNAMEs just read from the box (after a fresh check found the snapshot outdated). */
  async replaceCnames(cnames: Record<string, string>): Promise<void> {
    await this.#fill({ cnames });
  }

  /** Snapshots of finished runs are useless once expired: remove them when a run starts. */
  async #sweepExpired(): Promise<void> {
    const dir = dirname(this.#path);
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const file of files) {
      const path = join(dir, file);
      const info = await stat(path).catch(() => undefined);
      if (info !== undefined && Date.now() - info.mtimeMs > this.#maxAgeMs) await removeFile(path);
    }
  }

  /** Forgets the snapshot: the next call reads the box again. */
  async refresh(): Promise<void> {
    this.#snapshot = { takenAt: Date.now() };
    await writePrivateFile(this.#path, JSON.stringify(this.#snapshot));
  }
}
