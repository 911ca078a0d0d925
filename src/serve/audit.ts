/**
 * The audit log: one JSON object per request, mode 0600. Fields are chosen here and filled
 * from already-checked data only (client name, normalized record name), never from headers or
 * bodies as sent, so no password, key or box secret can reach it.
 */
import type { WriteStream } from 'node:fs';
import { openPrivateAppendStream } from '../state/files.js';
import { redact } from '../secrets.js';

export type AuditAction = 'update' | 'present' | 'cleanup' | 'register' | 'health' | 'scope' | 'expire' | 'evict' | 'dns-update' | 'nic-update' | 'unknown';

export interface AuditEntry {
  readonly client: string | null;
  readonly ip: string | null;
  readonly action: AuditAction;
  /** The record name asked for (normalized), or null when none could be read. */
  readonly name: string | null;
  readonly status: number;
  /** A short machine word for refusals and notes (`forbidden`, `out_of_scope`, `wait_limit`, ...). */
  readonly note?: string;
  readonly durationMs?: number;
  /** RFC 2136 (`dns-update`): the DNS rcode answered, the TSIG key name, every record name of the UPDATE. */
  readonly rcode?: string;
  readonly key?: string | null;
  readonly names?: readonly string[];
  /** Aggregated lines: how many requests this line stands for (see `aggregateUnauthenticated`). */
  readonly count?: number;
}

export interface AuditSink {
  write(entry: AuditEntry): void;
  close(): Promise<void>;
}

export const noAudit: AuditSink = { write: () => undefined, close: async () => undefined };

/** @param onError told when a line cannot be written (disk full...): serving goes on. */
export async function openAuditLog(path: string, onError: (error: Error) => void = () => undefined): Promise<AuditSink> {
  const stream: WriteStream = await openPrivateAppendStream(path);
  stream.on('error', onError);
  return {
    write(entry) {
      stream.write(`${redact(JSON.stringify({ time: new Date().toISOString(), ...entry }))}\n`);
    },
    close: () => new Promise((resolve) => stream.end(() => resolve())),
  };
}

export interface AggregationOptions {
  /** @default 60_000 */
  readonly windowMs?: number;
  /** Address buckets per window; past it the rest share one bucket with `ip: null`. @default 10_000 */
  readonly maxAddresses?: number;
  /** Address key (IPv6 by its prefix); default the address itself. */
  readonly keyOf?: (address: string) => string;
}

/**
 * Bounds what unauthenticated requests can add to the audit log: of the lines with no client
 * (404, 429, 503, /health, /register, 413, 400 before authentication...), the first of each
 * address, action and status in a window (a minute) is written at once; the others are counted
 * and written as ONE line with `count` when the window ends. 401s stay one line each: the
 * lockout bounds them to 10 per address and window. Growth: at most two lines per address,
 * action and status a minute, and at most `maxAddresses` addresses a minute (then one shared
 * bucket): a flood from one address adds a few hundred bytes a minute.
 */
export function aggregateUnauthenticated(sink: AuditSink, options: AggregationOptions = {}): AuditSink & { flush(): void; stop(): void } {
  const windowMs = options.windowMs ?? 60_000;
  const maxAddresses = options.maxAddresses ?? 10_000;
  const keyOf = options.keyOf ?? ((address: string) => address);
  let buckets = new Map<string, { entry: AuditEntry; count: number }>();
  let addresses = new Set<string>();
  const flush = (): void => {
    const ended = buckets;
    buckets = new Map();
    addresses = new Set();
    for (const { entry, count } of ended.values()) if (count > 0) sink.write({ ...entry, count, note: 'aggregated' });
  };
  const timer = setInterval(flush, windowMs);
  timer.unref();
  return {
    write(entry) {
      if (entry.client !== null || entry.status === 401 || entry.ip === null) return sink.write(entry);
      let address: string | null = keyOf(entry.ip);
      if (!addresses.has(address)) {
        if (addresses.size >= maxAddresses) address = null;
        else addresses.add(address);
      }
      const key = `${address ?? ''} ${entry.action} ${entry.status}`;
      const bucket = buckets.get(key);
      if (bucket === undefined) {
        buckets.set(key, { entry: { client: null, ip: address, action: entry.action, name: null, status: entry.status }, count: 0 });
        sink.write(address === null ? { ...entry, ip: null } : entry);
        return;
      }
      bucket.count++;
    },
    flush,
    /** Writes what is counted and stops the window timer; the sink stays open. */
    stop() {
      clearInterval(timer);
      flush();
    },
    async close() {
      clearInterval(timer);
      flush();
      await sink.close();
    },
  };
}
