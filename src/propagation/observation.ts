/**
 * What one nameserver said about one name, judged against the values we wait for, and how
 * to say it to a person: a short description for progress lines and error reports, and a
 * hint about what to check for each kind of problem.
 */
import type { TransportFailureKind } from './transport.js';
import type { TxtResult } from './query.js';

export type Observation =
  /** Serves every value we wait for (other values may be there too: old challenges). */
  | { readonly kind: 'ok' }
  /** Serves TXT records at the name, but not all of ours. */
  | { readonly kind: 'stale'; readonly has: readonly string[] }
  /** The name exists at this server, without TXT records. */
  | { readonly kind: 'nodata' }
  /** The name is an alias here: TXT records cannot live next to a CNAME. */
  | { readonly kind: 'cname'; readonly target: string }
  | { readonly kind: 'nxdomain' }
  /** REFUSED, SERVFAIL, ... */
  | { readonly kind: 'rcode'; readonly rcode: string }
  | { readonly kind: 'not-authoritative' }
  | { readonly kind: 'no-answer'; readonly failure: TransportFailureKind; readonly detail: string };

/** Judges a TXT lookup against `expected` (the values that must all be served at the name). */
export function observe(result: TxtResult, expected: readonly string[]): Observation {
  switch (result.status) {
    case 'answer': {
      if (expected.every((value) => result.values.includes(value))) return { kind: 'ok' };
      if (result.values.length > 0) return { kind: 'stale', has: result.values };
      if (result.cname !== undefined) return { kind: 'cname', target: result.cname };
      return { kind: 'nodata' };
    }
    case 'nxdomain':
      return { kind: 'nxdomain' };
    case 'not-authoritative':
      return { kind: 'not-authoritative' };
    case 'error':
      return { kind: 'rcode', rcode: result.rcode };
    case 'no-answer':
      return { kind: 'no-answer', failure: result.failure, detail: result.detail };
  }
}

const MAX_VALUES_SHOWN = 3;
const MAX_VALUE_CHARS = 60;

function shortValue(value: string): string {
  return JSON.stringify(value.length > MAX_VALUE_CHARS ? `${value.slice(0, MAX_VALUE_CHARS)}...` : value);
}

/** `ok`, `stale (has: "x")`, `NXDOMAIN`, `REFUSED`, `no answer (...)`, ... */
export function describeObservation(observation: Observation): string {
  switch (observation.kind) {
    case 'ok':
      return 'ok';
    case 'stale': {
      const shown = observation.has.slice(0, MAX_VALUES_SHOWN).map(shortValue).join(', ');
      const more = observation.has.length > MAX_VALUES_SHOWN ? ` and ${observation.has.length - MAX_VALUES_SHOWN} more` : '';
      return `stale (has: ${shown}${more})`;
    }
    case 'nodata':
      return 'no TXT record at the name (NODATA)';
    case 'cname':
      return `CNAME to ${observation.target}, no TXT record`;
    case 'nxdomain':
      return 'NXDOMAIN';
    case 'rcode':
      return observation.rcode;
    case 'not-authoritative':
      return 'not authoritative (answered without the AA flag)';
    case 'no-answer':
      return `no answer (${observation.detail})`;
  }
}

/** What a person should check when a server stays in this state, or undefined for `ok`. */
export function hintFor(observation: Observation, context: { readonly zone: string; readonly port: number; readonly host?: string }): string | undefined {
  const host = context.host ?? 'DNS host';
  switch (observation.kind) {
    case 'ok':
      return undefined;
    case 'stale':
    case 'nodata':
    case 'nxdomain':
      return (
        'NXDOMAIN / NODATA / stale: the server has not loaded the new zone yet. A secondary nameserver must receive ' +
        `NOTIFY and zone transfers from the ${host}: check its logs and that the ${host} lists it (on Mail-in-a-Box: admin panel, Custom DNS, ` +
        '"Using a secondary nameserver"). If it is only slow, raise MIAB_PROPAGATION_TIMEOUT.'
      );
    case 'cname':
      return 'CNAME: the challenge name is an alias on this server; write the record at the CNAME target (delegated challenge).';
    case 'rcode':
      if (observation.rcode === 'REFUSED') {
        return (
          `REFUSED: the server does not serve ${context.zone}. The zone's NS records list a server that is not configured ` +
          'for it: fix the NS records at the registrar or the secondary\'s configuration, or set MIAB_NAMESERVERS to the right servers.'
        );
      }
      if (observation.rcode === 'SERVFAIL') {
        return (
          `SERVFAIL: the server has ${context.zone} but could not load it. On the ${host}, check the nameserver's log (on Mail-in-a-Box: the nsd log, and run ` +
          `nsd-checkzone ${context.zone} /etc/nsd/zones/${context.zone}.txt); a TXT record next to a CNAME makes a nameserver reject the whole zone.`
        );
      }
      return `${observation.rcode}: the server rejected the query; check its configuration for ${context.zone}.`;
    case 'not-authoritative':
      return (
        'not authoritative: the address answers DNS but not from its own copy of the zone (a resolver, or a server ' +
        'without the zone). Check the NS records of the zone, or MIAB_NAMESERVERS.'
      );
    case 'no-answer':
      if (observation.failure === 'no-route') {
        return (
          'no route: this machine cannot send to that address at all (typically an IPv6 address on a host without IPv6). ' +
          'A nameserver counts as serving when any of its addresses does; when none of them can be reached from here, ' +
          'set MIAB_NAMESERVERS to addresses that can be, or MIAB_PROPAGATION_WAIT=<seconds> to sleep instead of checking.'
        );
      }
      return (
        `no answer: check that the server is up and that UDP and TCP port ${context.port} are open to this machine. If it ` +
        'cannot be reached from here, set MIAB_NAMESERVERS to servers that can be, or MIAB_PROPAGATION_WAIT=<seconds> to ' +
        'sleep instead of checking.'
      );
  }
}
