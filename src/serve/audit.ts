/**
 * The audit log: one JSON object per request, mode 0600. Fields are chosen here and filled
 * from already-checked data only (client name, normalized record name), never from headers or
 * bodies as sent, so no password, key or box secret can reach it.
 */
import type { WriteStream } from 'node:fs';
import { openPrivateAppendStream } from '../state/files.js';
import { redact } from '../secrets.js';

export type AuditAction = 'update' | 'present' | 'cleanup' | 'register' | 'health' | 'scope' | 'expire' | 'evict' | 'nic-update' | 'unknown';

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
