/**
 * The propagation wait: after the records are written, ask every authoritative nameserver
 * of their zones, directly, until all of them serve every record. A whole batch (e.g. the
 * apex and wildcard values of one certificate, which share a name) is waited for at once:
 * each round sends one TXT query per (server, name), whatever the number of values there.
 */
import { ConfigError } from '../errors.js';
import { poll, sleep } from '../util/poll.js';
import {
  dueChecks,
  isDone,
  nameserversVerb,
  noteUnreachable,
  ownersOf,
  pendingServers,
  planChecks,
  timeoutError,
  UNREACHABLE_MAX_RETRY_MS,
  UNREACHABLE_RETRY_MS,
  type PropagationRecord,
} from './batch.js';
import { discoverNameservers } from './discovery.js';
import { observe } from './observation.js';
import { formatDuration, ProgressReporter, type PendingServer, type ProgressSink } from './progress.js';
import { queryTxt, type QueryEvent } from './query.js';
import type { PropagationSettings } from './settings.js';

export type { PropagationRecord } from './batch.js';

export interface WaitOptions {
  /** Stops the wait at once: the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Where progress lines go (e.g. `process.stderr`). @default nowhere */
  readonly progress?: ProgressSink;
  /**
   * Whether `progress` is a terminal: a line per check instead of only on change.
   * @default the stream's `isTTY` when `progress` is a stream, else false
   */
  readonly isTTY?: boolean;
  /** How messages name the DNS host the records were written to (`DnsProvider.hostLabel`). @default 'DNS host' */
  readonly host?: string;
  /** Called for every DNS message sent (debug logs; tests check which servers were asked). */
  readonly onQuery?: (event: QueryEvent) => void;
  /** Passed to discovery when `settings.resolvers` is unset. @default '/etc/resolv.conf' */
  readonly resolvConfPath?: string;
}

export interface PropagationResult {
  /** Time from the call to the moment every server served every record (or the sleep ended). */
  readonly elapsedMs: number;
  /**
   * `host:port` of every address seen serving every record it was asked for; empty when
   * `MIAB_PROPAGATION_WAIT` skipped checking. An address that could not be reached is not
   * listed (its nameserver was served at another address).
   */
  readonly servers: readonly string[];
  /** False when `MIAB_PROPAGATION_WAIT` replaced the check with a sleep. */
  readonly checked: boolean;
}

/** Parallel queries per round: enough for big batches, few enough not to flood a small box. */
const MAX_PARALLEL_QUERIES = 32;

const NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)+$/;

function validateRecords(records: readonly PropagationRecord[]): void {
  for (const { fqdn, zone, value } of records) {
    for (const name of [fqdn, zone]) {
      if (!NAME.test(name)) throw new ConfigError('invalid-name', `${JSON.stringify(name)} is not a lower-case ASCII domain name without a trailing dot`);
    }
    if (fqdn !== zone && !fqdn.endsWith(`.${zone}`)) throw new ConfigError('invalid-name', `${fqdn} is not inside the zone ${zone}`);
    if (value === '') throw new ConfigError('invalid-value', `the TXT value for ${fqdn} is empty`);
  }
}

/** Runs `task` on every item, at most `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Waits until every authoritative nameserver of the records' zones serves every record, as
 * an authoritative answer (AA). Checks at once, then at growing intervals
 * (`settings.initialIntervalMs` x `settings.intervalFactor`, up to `settings.maxIntervalMs`)
 * until `settings.timeoutMs`. With `settings.fixedWaitMs` set, only sleeps that long.
 *
 * A nameserver (an NS name, or an address from `MIAB_NAMESERVERS`) serves a record when
 * any of its addresses answers with it. An address that fails with no route or "connection
 * refused" is reported once on `progress` and then asked only every 5-30 s.
 *
 * Rejects with `PropagationError('propagation-timeout')` listing what each address last
 * answered, `PropagationError('nameserver-discovery-failed')` when a zone's servers cannot
 * be found, `ConfigError` for malformed records, or `signal.reason` on abort; never with
 * anything else.
 */
export async function waitForPropagation(
  records: readonly PropagationRecord[],
  settings: PropagationSettings,
  options: WaitOptions = {},
): Promise<PropagationResult> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  const reporter = new ProgressReporter(options.progress, { isTTY: options.isTTY });
  validateRecords(records);
  if (records.length === 0) return { elapsedMs: 0, servers: [], checked: false };
  const recordCount = new Set(records.map((record) => `${record.fqdn}\n${record.value}`)).size;

  if (settings.fixedWaitMs !== undefined) {
    reporter.note(
      `MIAB_PROPAGATION_WAIT=${settings.fixedWaitMs / 1000} is set: NOT checking the nameservers, just waiting ${formatDuration(settings.fixedWaitMs)}`,
    );
    await sleep(settings.fixedWaitMs, options.signal);
    reporter.note(`waited ${formatDuration(settings.fixedWaitMs)} without checking whether the records are served`);
    return { elapsedMs: elapsed(), servers: [], checked: false };
  }

  const zones = [...new Set(records.map((record) => record.zone))];
  const host = options.host ?? 'DNS host';
  const discovery = { signal: options.signal, onQuery: options.onQuery, resolvConfPath: options.resolvConfPath, host, warn: (line: string) => reporter.note(`warning: ${line}`) };
  const nameserversByZone = new Map(await Promise.all(zones.map(async (zone) => [zone, await discoverNameservers(zone, settings, discovery)] as const)));
  const plan = planChecks(records, nameserversByZone);
  const total = plan.nameservers.length;
  reporter.note(
    `checking that ${nameserversVerb(total, 'serves', 'serve')} ${recordCount} TXT record${recordCount === 1 ? '' : 's'}: ` +
      plan.nameservers.map((nameserver) => nameserver.label).join(', '),
  );

  const queryOptions = { timeoutMs: settings.queryTimeoutMs, signal: options.signal, onQuery: options.onQuery };
  const round = async (): Promise<PendingServer[]> => {
    const todo = dueChecks(plan, elapsed());
    // A server that served a record keeps serving it (zones only move forward): it is not
    // asked again, which keeps the load on the nameservers down during long waits.
    await forEachLimited(todo, MAX_PARALLEL_QUERIES, async ({ address, check }) => {
      check.observation = observe(await queryTxt(address.address, check.fqdn, queryOptions), check.expected);
    });
    for (const address of noteUnreachable(plan, new Set(todo.map(({ address }) => address.key)), elapsed())) {
      const owners = ownersOf(plan, address);
      const names = owners.flatMap((owner) => owner.names);
      const detail = address.checks.map((check) => check.observation).find((observation) => observation?.kind === 'no-answer');
      const alternatives = owners.filter((owner) => owner.addresses.length > 1).map((owner) => owner.names.join('/') || owner.label);
      reporter.note(
        `cannot reach ${address.key}${names.length > 0 ? ` (${names.join('/')})` : ''}: ${detail?.kind === 'no-answer' ? detail.detail : 'no answer'}; ` +
          (alternatives.length > 0 ? `${alternatives.join(', ')} counts as serving when another of its addresses does, and ` : '') +
          `this address is asked again only every ${UNREACHABLE_RETRY_MS / 1000}-${UNREACHABLE_MAX_RETRY_MS / 1000} s`,
      );
    }
    return pendingServers(plan);
  };

  const outcome = await poll(round, {
    until: (pending) => pending.length === 0,
    timeoutMs: Math.max(0, settings.timeoutMs - elapsed()),
    initialIntervalMs: settings.initialIntervalMs,
    factor: settings.intervalFactor,
    maxIntervalMs: settings.maxIntervalMs,
    signal: options.signal,
    onPending: (pending) => reporter.waiting(pending, total, elapsed()),
  });
  if (!outcome.done) throw timeoutError(plan, elapsed(), settings, recordCount, host);
  const checked = plan.addresses.filter((address) => address.checks.every(isDone)).map((address) => address.key);
  const all = total === 1 ? nameserversVerb(total, 'serves', 'serve') : `all ${nameserversVerb(total, 'serves', 'serve')}`;
  reporter.note(`${all} the record${recordCount === 1 ? '' : 's'} (after ${formatDuration(elapsed())})`);
  return { elapsedMs: elapsed(), servers: checked, checked: true };
}
