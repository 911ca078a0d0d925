/**
 * The state of one batch wait: which (server, name) pairs are checked, what each server last
 * said, and how that reads in progress lines and in the timeout error. Pure: the wait loop
 * (wait.ts) does the querying and the timing.
 */
import { PropagationError, type NameserverReport } from '../errors.js';
import { formatServer } from './address.js';
import type { Nameserver } from './discovery.js';
import { describeObservation, hintFor, type Observation } from './observation.js';
import { formatDuration, serverLabel, type PendingServer } from './progress.js';
import type { PropagationSettings } from './settings.js';

/** A TXT record that was just written and must be served by every nameserver of its zone. */
export interface PropagationRecord {
  /**
   * Where the record lives, lower-case ASCII, no trailing dot. For a CNAME-delegated
   * challenge, the CNAME's target (the record is checked where it was written).
   */
  readonly fqdn: string;
  /** The box zone holding `fqdn` (from the box's zone list, never guessed from DNS). */
  readonly zone: string;
  readonly value: string;
}

/** One (server, name) pair to check, with what the server last said. */
export interface Check {
  readonly fqdn: string;
  readonly zone: string;
  /** Every value waited for at this name: one query checks them all. */
  readonly expected: readonly string[];
  observation: Observation | undefined;
}

export interface CheckedServer {
  readonly nameserver: Nameserver;
  readonly label: string;
  readonly checks: Check[];
  /** Left out: unreachable from this machine, and its NS name is checked at another address. */
  dropped: boolean;
}

export function isDone(check: Check): boolean {
  return check.observation?.kind === 'ok';
}

/** Builds one entry per server address, across zones (a box serves all its zones). */
export function planChecks(records: readonly PropagationRecord[], nameserversByZone: ReadonlyMap<string, readonly Nameserver[]>): CheckedServer[] {
  const valuesByName = new Map<string, { zone: string; values: string[] }>();
  for (const { fqdn, zone, value } of records) {
    const entry = valuesByName.get(fqdn) ?? { zone, values: [] };
    if (!entry.values.includes(value)) entry.values.push(value);
    valuesByName.set(fqdn, entry);
  }
  const servers = new Map<string, { names: string[]; address: Nameserver['address']; checks: Check[] }>();
  for (const [fqdn, { zone, values }] of valuesByName) {
    for (const nameserver of nameserversByZone.get(zone) ?? []) {
      const key = formatServer(nameserver.address);
      const server = servers.get(key) ?? { names: [], address: nameserver.address, checks: [] };
      for (const name of nameserver.names) if (!server.names.includes(name)) server.names.push(name);
      server.checks.push({ fqdn, zone, expected: values, observation: undefined });
      servers.set(key, server);
    }
  }
  return [...servers.values()].map(({ names, address, checks }) => {
    const nameserver: Nameserver = { names, address };
    return { nameserver, label: serverLabel(nameserver), checks, dropped: false };
  });
}

/**
 * A machine without IPv6 gets "network unreachable" for every IPv6 nameserver, for ever.
 * Such an address is left out when each of its NS names is also checked at an address we
 * can reach: that nameserver's content is then still verified. Returns what was dropped.
 */
export function dropUnroutable(servers: readonly CheckedServer[]): CheckedServer[] {
  const unroutable = (server: CheckedServer): boolean =>
    server.checks.every((check) => check.observation?.kind === 'no-answer' && check.observation.failure === 'no-route');
  const dropped: CheckedServer[] = [];
  for (const server of servers) {
    if (server.dropped || server.nameserver.names.length === 0 || !unroutable(server)) continue;
    const coveredElsewhere = server.nameserver.names.every((name) =>
      servers.some((other) => other !== server && !other.dropped && !unroutable(other) && other.nameserver.names.includes(name)),
    );
    if (coveredElsewhere) {
      server.dropped = true;
      dropped.push(server);
    }
  }
  return dropped;
}

export function pendingServers(servers: readonly CheckedServer[]): PendingServer[] {
  return servers
    .filter((server) => !server.dropped && !server.checks.every(isDone))
    .map((server) => ({
      label: server.label,
      missing: server.checks.filter((check) => !isDone(check)).map((check) => ({ fqdn: check.fqdn, observation: check.observation ?? { kind: 'nodata' } })),
    }));
}

export function report(server: CheckedServer): NameserverReport {
  const describe = (check: Check): string => (check.observation ? describeObservation(check.observation) : 'not asked');
  const single = server.checks.length === 1 ? server.checks[0] : undefined;
  const lastAnswer = single ? describe(single) : server.checks.map((check) => `${check.fqdn}: ${describe(check)}`).join('; ');
  return { server: formatServer(server.nameserver.address), lastAnswer, ok: server.checks.every(isDone) };
}

export function timeoutError(servers: readonly CheckedServer[], elapsedMs: number, settings: PropagationSettings, recordCount: number): PropagationError {
  const active = servers.filter((server) => !server.dropped);
  const reports = active.map(report);
  const failing = active.filter((server) => !server.checks.every(isDone));
  const lines = active.map((server) => {
    const checks = server.checks.map((check) => `${check.fqdn}: ${check.observation ? describeObservation(check.observation) : 'not asked'}`);
    return `  ${server.label}: ${checks.join('; ')}`;
  });
  const hints = new Set<string>();
  for (const server of failing) {
    for (const check of server.checks) {
      const hint = check.observation && hintFor(check.observation, { zone: check.zone, port: server.nameserver.address.port });
      if (hint) hints.add(hint);
    }
  }
  const message = [
    `${failing.length} of ${active.length} nameservers did not serve the ${recordCount} TXT record${recordCount === 1 ? '' : 's'} ` +
      `within ${formatDuration(elapsedMs)} (MIAB_PROPAGATION_TIMEOUT=${settings.timeoutMs / 1000}). What each server last answered:`,
    ...lines,
    'What to check:',
    ...[...hints].map((hint) => `  - ${hint}`),
  ].join('\n');
  return new PropagationError('propagation-timeout', message, { nameservers: reports });
}

