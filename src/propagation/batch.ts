/**
 * The state of one batch wait: which names each nameserver must serve, what each of its
 * addresses last said, and how that reads in progress lines and in the timeout error. Pure:
 * the wait loop (wait.ts) does the querying and the timing.
 *
 * A nameserver is one NS name (or one address the user gave). Its addresses are
 * alternatives: the ACME server's resolver uses whichever it can reach, so the nameserver
 * serves a name as soon as ANY of its addresses answers with every value. An address this
 * machine cannot reach (no route, refused) is therefore no reason to wait: it is reported
 * once and asked less often, and only a nameserver none of whose addresses serves keeps
 * the wait going.
 */
import { PropagationError, type NameserverReport } from '../errors.js';
import { formatServer, type DnsServer } from './address.js';
import type { Nameserver } from './discovery.js';
import { describeObservation, hintFor, type Observation } from './observation.js';
import { formatDuration, type PendingServer } from './progress.js';
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

/** One (address, name) pair to check, with what the address last said. */
export interface Check {
  readonly fqdn: string;
  readonly zone: string;
  /** Every value waited for at this name: one query checks them all. */
  readonly expected: readonly string[];
  observation: Observation | undefined;
}

/** One address to query, shared by every nameserver that has it. */
export interface CheckedAddress {
  readonly address: DnsServer;
  /** `host:port`, as printed. */
  readonly key: string;
  /** One per name asked at this address, in record order. */
  readonly checks: Check[];
  /** Not asked again before this time (ms on the wait's clock) after a no-route / refused failure. */
  retryAtMs: number;
  /** The pause before the next attempt after another such failure. */
  retryDelayMs: number;
  /** Whether the unreachable address has been reported (once per wait). */
  reported: boolean;
}

/** One nameserver of the batch's zones, with its addresses (alternatives). */
export interface CheckedNameserver {
  /** `ns1.box.test (192.0.2.1:53, [2001:db8::1]:53)`, or the address the user gave. */
  readonly label: string;
  /** NS names (several when ns1 and ns2 share every address); empty for a configured address. */
  readonly names: readonly string[];
  readonly addresses: readonly CheckedAddress[];
  /** The names it must serve (those of the zones it is a nameserver of). */
  readonly fqdns: readonly string[];
}

export interface BatchPlan {
  readonly nameservers: readonly CheckedNameserver[];
  /** Every distinct address, in discovery order: each is asked once per name and round. */
  readonly addresses: readonly CheckedAddress[];
}

/** The first pause after an address turned out unreachable, and the longest. */
export const UNREACHABLE_RETRY_MS = 5000;
export const UNREACHABLE_MAX_RETRY_MS = 30_000;

export function isDone(check: Check): boolean {
  return check.observation?.kind === 'ok';
}

/** `1 nameserver serves` / `2 nameservers serve`. */
export function nameserversVerb(count: number, singular: string, plural: string): string {
  return count === 1 ? `${count} nameserver ${singular}` : `${count} nameservers ${plural}`;
}

/** No route to the address, or nothing listening there: retrying within seconds will not help. */
export function isUnreachable(observation: Observation | undefined): boolean {
  return observation?.kind === 'no-answer' && (observation.failure === 'no-route' || observation.failure === 'refused');
}

/** Builds the nameservers of the records' zones and the addresses to ask, across zones (a box serves all its zones). */
export function planChecks(records: readonly PropagationRecord[], nameserversByZone: ReadonlyMap<string, readonly Nameserver[]>): BatchPlan {
  const valuesByName = new Map<string, { zone: string; values: string[] }>();
  for (const { fqdn, zone, value } of records) {
    const entry = valuesByName.get(fqdn) ?? { zone, values: [] };
    if (!entry.values.includes(value)) entry.values.push(value);
    valuesByName.set(fqdn, entry);
  }
  const addresses = new Map<string, CheckedAddress>();
  // Keyed by NS name, or by address for an address given without a name.
  const groups = new Map<string, { names: string[]; addresses: CheckedAddress[]; fqdns: string[] }>();
  for (const [fqdn, { zone, values }] of valuesByName) {
    for (const nameserver of nameserversByZone.get(zone) ?? []) {
      const key = formatServer(nameserver.address);
      let address = addresses.get(key);
      if (!address) {
        address = { address: nameserver.address, key, checks: [], retryAtMs: 0, retryDelayMs: UNREACHABLE_RETRY_MS, reported: false };
        addresses.set(key, address);
      }
      if (!address.checks.some((check) => check.fqdn === fqdn)) address.checks.push({ fqdn, zone, expected: values, observation: undefined });
      for (const groupKey of nameserver.names.length > 0 ? nameserver.names : [key]) {
        const group = groups.get(groupKey) ?? { names: nameserver.names.length > 0 ? [groupKey] : [], addresses: [], fqdns: [] };
        if (!group.addresses.includes(address)) group.addresses.push(address);
        if (!group.fqdns.includes(fqdn)) group.fqdns.push(fqdn);
        groups.set(groupKey, group);
      }
    }
  }
  // ns1 and ns2 on the very same addresses are one machine: one line, not two.
  const merged = new Map<string, { names: string[]; addresses: CheckedAddress[]; fqdns: string[] }>();
  for (const group of groups.values()) {
    const key = `${group.addresses.map((address) => address.key).sort().join(',')}\n${[...group.fqdns].sort().join(',')}`;
    const existing = merged.get(key);
    if (existing) existing.names.push(...group.names);
    else merged.set(key, { ...group, names: [...group.names] });
  }
  const nameservers = [...merged.values()].map(({ names, addresses: own, fqdns }) => {
    const where = own.map((address) => address.key).join(', ');
    return { label: names.length > 0 ? `${names.join('/')} (${where})` : where, names, addresses: own, fqdns };
  });
  return { nameservers, addresses: [...addresses.values()] };
}

function checkAt(address: CheckedAddress, fqdn: string): Check | undefined {
  return address.checks.find((check) => check.fqdn === fqdn);
}

/** Whether `nameserver` serves every value at `fqdn`: at least one of its addresses does. */
export function serves(nameserver: CheckedNameserver, fqdn: string): boolean {
  return nameserver.addresses.some((address) => {
    const check = checkAt(address, fqdn);
    return check !== undefined && isDone(check);
  });
}

export function nameserverDone(nameserver: CheckedNameserver): boolean {
  return nameserver.fqdns.every((fqdn) => serves(nameserver, fqdn));
}

/**
 * The (address, check) pairs to query now: not yet served there, still needed by a
 * nameserver that has no serving address for the name, and not paused after an
 * unreachable failure. A name served once stays served (zones only move forward).
 */
export function dueChecks(plan: BatchPlan, nowMs: number): { address: CheckedAddress; check: Check }[] {
  const due: { address: CheckedAddress; check: Check }[] = [];
  for (const address of plan.addresses) {
    if (address.retryAtMs > nowMs) continue;
    for (const check of address.checks) {
      if (isDone(check)) continue;
      const needed = plan.nameservers.some((nameserver) => nameserver.addresses.includes(address) && nameserver.fqdns.includes(check.fqdn) && !serves(nameserver, check.fqdn));
      if (needed) due.push({ address, check });
    }
  }
  return due;
}

/**
 * After a round: an address whose every asked name failed with no route or "refused" is
 * paused (growing pauses); one that answered is asked at the normal pace again. Returns the
 * addresses that became unreachable for the first time in this wait, to be reported once.
 */
export function noteUnreachable(plan: BatchPlan, askedKeys: ReadonlySet<string>, nowMs: number): CheckedAddress[] {
  const newlyReported: CheckedAddress[] = [];
  for (const address of plan.addresses) {
    if (!askedKeys.has(address.key)) continue;
    const asked = address.checks.filter((check) => !isDone(check));
    if (asked.length > 0 && asked.every((check) => isUnreachable(check.observation))) {
      address.retryAtMs = nowMs + address.retryDelayMs;
      address.retryDelayMs = Math.min(address.retryDelayMs * 2, UNREACHABLE_MAX_RETRY_MS);
      if (!address.reported) {
        address.reported = true;
        newlyReported.push(address);
      }
    } else {
      address.retryAtMs = 0;
      address.retryDelayMs = UNREACHABLE_RETRY_MS;
    }
  }
  return newlyReported;
}

/** The NS names (or labels) an address belongs to, for the "cannot reach" note. */
export function ownersOf(plan: BatchPlan, address: CheckedAddress): CheckedNameserver[] {
  return plan.nameservers.filter((nameserver) => nameserver.addresses.includes(address));
}

/**
 * What a nameserver said about `fqdn`, for one line: an address that answered wins over one
 * that could not be reached (the answer is what the wait is waiting on).
 */
function bestObservation(nameserver: CheckedNameserver, fqdn: string): Observation {
  const observations = nameserver.addresses.map((address) => checkAt(address, fqdn)?.observation).filter((observation): observation is Observation => observation !== undefined);
  return observations.find((observation) => observation.kind === 'ok') ?? observations.find((observation) => !isUnreachable(observation)) ?? observations[0] ?? { kind: 'nodata' };
}

export function pendingServers(plan: BatchPlan): PendingServer[] {
  return plan.nameservers
    .filter((nameserver) => !nameserverDone(nameserver))
    .map((nameserver) => ({
      label: nameserver.label,
      missing: nameserver.fqdns.filter((fqdn) => !serves(nameserver, fqdn)).map((fqdn) => ({ fqdn, observation: bestObservation(nameserver, fqdn) })),
    }));
}

function describeCheck(check: Check): string {
  return check.observation ? describeObservation(check.observation) : 'not asked';
}

/** One report per address asked, as `PropagationError.nameservers` lists them. */
export function report(address: CheckedAddress): NameserverReport {
  const single = address.checks.length === 1 ? address.checks[0] : undefined;
  const lastAnswer = single ? describeCheck(single) : address.checks.map((check) => `${check.fqdn}: ${describeCheck(check)}`).join('; ');
  return { server: address.key, lastAnswer, ok: address.checks.every(isDone) };
}

/** `  ns1.box.test (a, b): a: <fqdn>: ok; b: ...` for one nameserver. */
function describeNameserver(nameserver: CheckedNameserver): string {
  const perAddress = (address: CheckedAddress): string => {
    const checks = address.checks.filter((check) => nameserver.fqdns.includes(check.fqdn)).map((check) => `${check.fqdn}: ${describeCheck(check)}`);
    return checks.join('; ');
  };
  if (nameserver.addresses.length === 1) {
    const [only] = nameserver.addresses;
    return `  ${nameserver.label}: ${only ? perAddress(only) : ''}`;
  }
  const unreachable = nameserver.addresses.every((address) => address.checks.every((check) => isUnreachable(check.observation)));
  const head = unreachable ? `  ${nameserver.label}: none of its addresses can be reached from this machine:` : `  ${nameserver.label}:`;
  return [head, ...nameserver.addresses.map((address) => `      ${address.key}: ${perAddress(address)}`)].join('\n');
}

export function timeoutError(plan: BatchPlan, elapsedMs: number, settings: PropagationSettings, recordCount: number, host = 'DNS host'): PropagationError {
  const failing = plan.nameservers.filter((nameserver) => !nameserverDone(nameserver));
  const total = plan.nameservers.length;
  const hints = new Set<string>();
  for (const nameserver of failing) {
    for (const address of nameserver.addresses) {
      for (const check of address.checks) {
        if (!nameserver.fqdns.includes(check.fqdn) || serves(nameserver, check.fqdn)) continue;
        const hint = check.observation && hintFor(check.observation, { zone: check.zone, port: address.address.port, host });
        if (hint) hints.add(hint);
      }
    }
  }
  const message = [
    `${failing.length} of ${total} nameserver${total === 1 ? '' : 's'} did not serve the ${recordCount} TXT record${recordCount === 1 ? '' : 's'} ` +
      `within ${formatDuration(elapsedMs)} (MIAB_PROPAGATION_TIMEOUT=${settings.timeoutMs / 1000}). What each server last answered:`,
    ...plan.nameservers.map(describeNameserver),
    'What to check:',
    ...[...hints].map((hint) => `  - ${hint}`),
  ].join('\n');
  return new PropagationError('propagation-timeout', message, { nameservers: plan.addresses.map(report) });
}
