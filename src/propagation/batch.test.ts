import { describe, expect, it } from 'vitest';
import { PropagationError } from '../errors.js';
import {
  dueChecks,
  nameserverDone,
  nameserversVerb,
  noteUnreachable,
  pendingServers,
  planChecks,
  report,
  timeoutError,
  UNREACHABLE_MAX_RETRY_MS,
  UNREACHABLE_RETRY_MS,
  type BatchPlan,
  type CheckedAddress,
} from './batch.js';
import type { Nameserver } from './discovery.js';
import type { Observation } from './observation.js';
import { DEFAULT_PROPAGATION_SETTINGS } from './settings.js';

const ns1: Nameserver = { names: ['ns1.box.test'], address: { host: '127.0.0.2', port: 53 } };
const ns1v6: Nameserver = { names: ['ns1.box.test'], address: { host: '2001:db8::2', port: 53 } };
const ns2: Nameserver = { names: ['ns2.box.test'], address: { host: '127.0.0.3', port: 53 } };
const ns2AsOther: Nameserver = { names: ['ns2.other.test'], address: { host: '127.0.0.3', port: 53 } };
const given: Nameserver = { names: [], address: { host: '2001:db8::9', port: 5353 } };

const FQDN = '_acme-challenge.example.test';
const noRoute: Observation = { kind: 'no-answer', failure: 'no-route', detail: 'this machine has no route to [2001:db8::2]:53 (ENETUNREACH)' };
const refused: Observation = { kind: 'no-answer', failure: 'refused', detail: 'nothing listens on 127.0.0.2:53 (connection refused)' };

function plan(...nameservers: Nameserver[]): BatchPlan {
  return planChecks([{ fqdn: FQDN, zone: 'example.test', value: 'v' }], new Map([['example.test', nameservers]]));
}

function address(batch: BatchPlan, key: string): CheckedAddress {
  const found = batch.addresses.find((entry) => entry.key === key);
  if (!found) throw new Error(`no address ${key}`);
  return found;
}

function observe(batch: BatchPlan, key: string, observation: Observation): void {
  for (const check of address(batch, key).checks) check.observation = observation;
}

describe('planChecks', () => {
  it('makes one check per (address, name), with every value at that name; one nameserver per NS name', () => {
    const batch = planChecks(
      [
        { fqdn: FQDN, zone: 'example.test', value: 'apex' },
        { fqdn: FQDN, zone: 'example.test', value: 'wildcard' },
        { fqdn: FQDN, zone: 'example.test', value: 'apex' },
        { fqdn: 'x.acme.other.test', zone: 'other.test', value: 'delegated' },
      ],
      new Map([
        ['example.test', [ns1, ns1v6, ns2]],
        ['other.test', [ns2AsOther]],
      ]),
    );
    expect(batch.nameservers.map((nameserver) => nameserver.label)).toEqual([
      'ns1.box.test (127.0.0.2:53, [2001:db8::2]:53)',
      'ns2.box.test (127.0.0.3:53)',
      'ns2.other.test (127.0.0.3:53)',
    ]);
    expect(batch.addresses.map((entry) => entry.key)).toEqual(['127.0.0.2:53', '[2001:db8::2]:53', '127.0.0.3:53']);
    expect(address(batch, '127.0.0.2:53').checks).toEqual([{ fqdn: FQDN, zone: 'example.test', expected: ['apex', 'wildcard'], observation: undefined }]);
    expect(address(batch, '127.0.0.3:53').checks.map((check) => check.fqdn)).toEqual([FQDN, 'x.acme.other.test']);
    expect(batch.nameservers[2]?.fqdns).toEqual(['x.acme.other.test']);
  });

  it('shows ns1 and ns2 on the same addresses as one nameserver', () => {
    const shared = plan({ names: ['ns1.box.test', 'ns2.box.test'], address: ns1.address });
    expect(shared.nameservers.map((nameserver) => nameserver.label)).toEqual(['ns1.box.test/ns2.box.test (127.0.0.2:53)']);
  });

  it('labels an address given without a name by the address', () => {
    expect(plan(given).nameservers.map((nameserver) => nameserver.label)).toEqual(['[2001:db8::9]:5353']);
  });
});

describe('a nameserver\'s addresses are alternatives', () => {
  it('serves when any address serves; the others are then not asked', () => {
    const batch = plan(ns1, ns1v6, ns2);
    expect(dueChecks(batch, 0)).toHaveLength(3);
    observe(batch, '[2001:db8::2]:53', noRoute);
    observe(batch, '127.0.0.2:53', { kind: 'ok' });
    observe(batch, '127.0.0.3:53', { kind: 'nxdomain' });
    expect(batch.nameservers.map(nameserverDone)).toEqual([true, false]);
    expect(dueChecks(batch, 0).map(({ address: entry }) => entry.key)).toEqual(['127.0.0.3:53']);
    expect(pendingServers(batch)).toEqual([{ label: 'ns2.box.test (127.0.0.3:53)', missing: [{ fqdn: FQDN, observation: { kind: 'nxdomain' } }] }]);
  });

  it('describes a pending nameserver by the address that answered, not the unreachable one', () => {
    const batch = plan(ns1v6, ns1);
    observe(batch, '[2001:db8::2]:53', noRoute);
    observe(batch, '127.0.0.2:53', { kind: 'stale', has: ['old'] });
    expect(pendingServers(batch)[0]?.missing[0]?.observation).toEqual({ kind: 'stale', has: ['old'] });
  });

  it('pauses an unreachable or refusing address, reports it once, and resets once it answers', () => {
    const batch = plan(ns1, ns1v6);
    const v6 = address(batch, '[2001:db8::2]:53');
    const v4 = address(batch, '127.0.0.2:53');
    observe(batch, v6.key, noRoute);
    observe(batch, v4.key, refused);
    const asked = new Set([v6.key, v4.key]);
    expect(noteUnreachable(batch, asked, 1000)).toEqual([v4, v6]);
    expect(v6.retryAtMs).toBe(1000 + UNREACHABLE_RETRY_MS);
    expect(dueChecks(batch, 1000 + UNREACHABLE_RETRY_MS - 1)).toEqual([]);
    expect(dueChecks(batch, 1000 + UNREACHABLE_RETRY_MS)).toHaveLength(2);
    // Failing again: not reported again, and the pause doubles up to its limit.
    expect(noteUnreachable(batch, asked, 7000)).toEqual([]);
    expect(v6.retryAtMs).toBe(7000 + 2 * UNREACHABLE_RETRY_MS);
    for (let i = 0; i < 5; i++) noteUnreachable(batch, asked, 0);
    expect(v6.retryDelayMs).toBe(UNREACHABLE_MAX_RETRY_MS);
    observe(batch, v4.key, { kind: 'nxdomain' });
    noteUnreachable(batch, asked, 50_000);
    expect(v4).toMatchObject({ retryAtMs: 0, retryDelayMs: UNREACHABLE_RETRY_MS, reported: true });
  });

  it('does not pause an address that timed out (a lost datagram may pass next time)', () => {
    const batch = plan(ns1);
    observe(batch, '127.0.0.2:53', { kind: 'no-answer', failure: 'timeout', detail: 'no reply' });
    expect(noteUnreachable(batch, new Set(['127.0.0.2:53']), 0)).toEqual([]);
    expect(dueChecks(batch, 0)).toHaveLength(1);
  });
});

describe('wording', () => {
  it('agrees verbs with the count', () => {
    expect(nameserversVerb(1, 'serves', 'serve')).toBe('1 nameserver serves');
    expect(nameserversVerb(2, 'serves', 'serve')).toBe('2 nameservers serve');
  });
});

describe('reports', () => {
  it('summarises one name per address plainly, several with their names', () => {
    const single = plan(ns2);
    observe(single, '127.0.0.3:53', { kind: 'nxdomain' });
    expect(report(address(single, '127.0.0.3:53'))).toEqual({ server: '127.0.0.3:53', lastAnswer: 'NXDOMAIN', ok: false });
    const two = planChecks(
      [
        { fqdn: 'n0.example.test', zone: 'example.test', value: 'v' },
        { fqdn: 'n1.example.test', zone: 'example.test', value: 'v' },
      ],
      new Map([['example.test', [ns1]]]),
    );
    const [first, second] = address(two, '127.0.0.2:53').checks;
    if (first) first.observation = { kind: 'ok' };
    if (second) second.observation = { kind: 'stale', has: ['old'] };
    expect(report(address(two, '127.0.0.2:53'))).toEqual({ server: '127.0.0.2:53', lastAnswer: 'n0.example.test: ok; n1.example.test: stale (has: "old")', ok: false });
  });

  it('builds a timeout error listing every server and what to check', () => {
    const batch = plan(ns1, ns2);
    observe(batch, '127.0.0.2:53', { kind: 'ok' });
    observe(batch, '127.0.0.3:53', { kind: 'rcode', rcode: 'REFUSED' });
    const error = timeoutError(batch, 4000, { ...DEFAULT_PROPAGATION_SETTINGS, timeoutMs: 4000 }, 1);
    expect(error).toBeInstanceOf(PropagationError);
    expect(error.code).toBe('propagation-timeout');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('1 of 2 nameservers did not serve the 1 TXT record within 4.0 s (MIAB_PROPAGATION_TIMEOUT=4)');
    expect(error.message).toContain(`  ns1.box.test (127.0.0.2:53): ${FQDN}: ok`);
    expect(error.message).toContain(`  ns2.box.test (127.0.0.3:53): ${FQDN}: REFUSED`);
    expect(error.message).toMatch(/What to check:\n  - REFUSED: the server does not serve example.test/);
    expect(error.nameservers).toEqual([
      { server: '127.0.0.2:53', lastAnswer: 'ok', ok: true },
      { server: '127.0.0.3:53', lastAnswer: 'REFUSED', ok: false },
    ]);
  });

  it('names a nameserver none of whose addresses can be reached, each address with its error', () => {
    const dead: Nameserver[] = [
      { names: ['ns9.box.test'], address: { host: '2001:db8::9', port: 53 } },
      { names: ['ns9.box.test'], address: { host: '2001:db8::a', port: 53 } },
    ];
    const batch = plan(ns1, ...dead);
    observe(batch, '127.0.0.2:53', { kind: 'ok' });
    observe(batch, '[2001:db8::9]:53', noRoute);
    observe(batch, '[2001:db8::a]:53', { kind: 'no-answer', failure: 'no-route', detail: 'this machine has no route to [2001:db8::a]:53 (EHOSTUNREACH)' });
    const error = timeoutError(batch, 1000, { ...DEFAULT_PROPAGATION_SETTINGS, timeoutMs: 1000 }, 1);
    expect(error.message).toContain('1 of 2 nameservers did not serve the 1 TXT record');
    expect(error.message).toContain('  ns9.box.test ([2001:db8::9]:53, [2001:db8::a]:53): none of its addresses can be reached from this machine:');
    expect(error.message).toContain(`      [2001:db8::a]:53: ${FQDN}: no answer (this machine has no route to [2001:db8::a]:53 (EHOSTUNREACH))`);
    expect(error.message).toMatch(/  - no route: this machine cannot send to that address at all/);
  });

  it('says "1 of 1 nameserver"', () => {
    const batch = plan(ns2);
    observe(batch, '127.0.0.3:53', { kind: 'nxdomain' });
    expect(timeoutError(batch, 1000, DEFAULT_PROPAGATION_SETTINGS, 2).message).toMatch(/^1 of 1 nameserver did not serve the 2 TXT records/);
  });
});
