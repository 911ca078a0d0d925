/** The acme-dns two-slot rule and expiry bookkeeping. */
import { describe, expect, it } from 'vitest';
import { AcmeDnsSlots } from './acme-dns-slots.js';

describe('acme-dns slots', () => {
  const record = (value: string) => ({ requestedName: '_acme-challenge.a.test', fqdn: '_acme-challenge.a.test', zone: 'a.test', value });
  it('keeps the newest two values per domain; a repeated value renews without evicting', () => {
    const slots = new AcmeDnsSlots('/nonexistent');
    expect(slots.add({ client: 'c', domain: 'a.test', record: record('v1'), writtenAt: 1 })).toEqual([]);
    expect(slots.add({ client: 'c', domain: 'a.test', record: record('v2'), writtenAt: 2 })).toEqual([]);
    expect(slots.add({ client: 'c', domain: 'b.test', record: record('v9'), writtenAt: 3 })).toEqual([]);
    expect(slots.add({ client: 'c', domain: 'a.test', record: record('v2'), writtenAt: 4 })).toEqual([]);
    const evicted = slots.add({ client: 'c', domain: 'a.test', record: record('v3'), writtenAt: 5 });
    expect(evicted.map((entry) => entry.record.value)).toEqual(['v1']);
    expect(slots.expired(14, 10).map((entry) => entry.record.value)).toEqual(['v1', 'v9', 'v2']);
    expect(slots.nextExpiry(10)).toBe(11);
  });
});

describe('acme-dns slots per client', () => {
  const record = (value: string) => ({ requestedName: '_acme-challenge.a.test', fqdn: '_acme-challenge.a.test', zone: 'a.test', value });
  it("one client's third value evicts its own oldest, never another client's value of the same domain", () => {
    const slots = new AcmeDnsSlots('/nonexistent');
    slots.add({ client: 'other', domain: 'a.test', record: record('o1'), writtenAt: 1 });
    slots.add({ client: 'c', domain: 'a.test', record: record('v1'), writtenAt: 2 });
    expect(slots.add({ client: 'c', domain: 'a.test', record: record('v2'), writtenAt: 3 })).toEqual([]);
    const evicted = slots.add({ client: 'c', domain: 'a.test', record: record('v3'), writtenAt: 4 });
    expect(evicted.map((entry) => `${entry.client}:${entry.record.value}`)).toEqual(['c:v1']);
  });
});
