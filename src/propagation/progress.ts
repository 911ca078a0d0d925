/**
 * Progress lines of the propagation wait: which servers still lack which records, and for
 * how long we have been waiting. On a terminal a line per check; otherwise (logs, ACME
 * client output) only when something changes, plus a rare heartbeat, so a five-minute wait
 * does not fill a log with hundreds of identical lines.
 */
import { describeObservation, type Observation } from './observation.js';

/**
 * Where progress goes: a function taking one line (no newline), or a stream such as
 * `process.stderr` (its `isTTY` is used unless the caller says otherwise).
 */
export type ProgressSink = ((line: string) => void) | { write(text: string): unknown; readonly isTTY?: boolean };

/** `0.4 s`, `12 s`, `4 min 05 s`. */
export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
}

/** A server that does not serve everything yet, with what it said about each name it lacks. */
export interface PendingServer {
  readonly label: string;
  readonly missing: readonly { readonly fqdn: string; readonly observation: Observation }[];
}

const MAX_NAMES_PER_SERVER = 3;

/** `ns2.box.example (192.0.2.2:53) lacks _acme-challenge.example.com (NXDOMAIN)` and the like. */
export function describePending(pending: readonly PendingServer[]): string {
  return pending
    .map(({ label, missing }) => {
      const shown = missing.slice(0, MAX_NAMES_PER_SERVER).map(({ fqdn, observation }) => `${fqdn} (${describeObservation(observation)})`);
      const more = missing.length > MAX_NAMES_PER_SERVER ? ` and ${missing.length - MAX_NAMES_PER_SERVER} more` : '';
      return `${label} lacks ${shown.join(', ')}${more}`;
    })
    .join('; ');
}

const TTY_REPEAT_MS = 500;

export interface ProgressReporterOptions {
  /** A line per check, at most two a second (terminal), or only on change (logs). @default the stream's isTTY, else false */
  readonly isTTY?: boolean;
  /** Without a terminal, repeat an unchanged status this often. @default 60000 */
  readonly heartbeatMs?: number;
}

export class ProgressReporter {
  readonly #write: ((line: string) => void) | undefined;
  readonly #isTTY: boolean;
  readonly #heartbeatMs: number;
  #lastStatus: string | undefined;
  #lastEmitMs = 0;

  constructor(sink: ProgressSink | undefined, options: ProgressReporterOptions = {}) {
    if (typeof sink === 'function') {
      this.#write = sink;
    } else if (sink) {
      this.#write = (line) => void sink.write(`${line}\n`);
    }
    const streamTTY = typeof sink === 'object' && sink.isTTY === true;
    this.#isTTY = options.isTTY ?? streamTTY;
    this.#heartbeatMs = options.heartbeatMs ?? 60_000;
  }

  /** A line that is always shown (start, end, notes). */
  note(line: string): void {
    this.#write?.(line);
  }

  /** After each check that left servers pending. */
  waiting(pending: readonly PendingServer[], serverCount: number, elapsedMs: number): void {
    const status = `waiting for ${pending.length} of ${serverCount} nameserver${serverCount === 1 ? '' : 's'}: ${describePending(pending)}`;
    const changed = status !== this.#lastStatus;
    // A terminal gets a live status, but at most two lines a second: checks run every ~0.2 s.
    const repeatAfterMs = this.#isTTY ? TTY_REPEAT_MS : this.#heartbeatMs;
    if (this.#lastStatus === undefined || changed || elapsedMs - this.#lastEmitMs >= repeatAfterMs) {
      this.#write?.(`[${formatDuration(elapsedMs)}] ${status}`);
      this.#lastEmitMs = elapsedMs;
    }
    this.#lastStatus = status;
  }
}
