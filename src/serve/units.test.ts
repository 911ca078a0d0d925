/** The pure parts of serve: address ranges and X-Forwarded-For, lockout, slots, hashes, keys. */
import { describe, expect, it } from 'vitest';
import { AddressRanges, parseCidr, sourceAddress } from './cidr.js';
import { Lockout } from './lockout.js';
import { AcmeDnsSlots } from './acme-dns-slots.js';
import { hashSecret, newPassword, verifySecret } from './secret-hash.js';
import { stringField } from './http.js';

describe('address ranges', () => {
  it('parses and matches IPv4, IPv6 and IPv4-mapped peers', () => {
    expect(parseCidr('10.0.0.5', '--allow-from')).toBe('10.0.0.5/32');
    expect(parseCidr('2001:DB8::/32', '--allow-from')).toBe('2001:db8::/32');
    for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0.0/8/1', '10.0.0.0/x', '']) expect(() => parseCidr(bad, '--allow-from')).toThrow(/--allow-from/);
    const ranges = new AddressRanges(['127.0.0.2/32', '2001:db8::/32']);
    expect(ranges.contains('127.0.0.2')).toBe(true);
    expect(ranges.contains('::ffff:127.0.0.2')).toBe(true);
    expect(ranges.contains('127.0.0.3')).toBe(false);
    expect(ranges.contains('2001:db8::1')).toBe(true);
    expect(ranges.contains('garbage')).toBe(false);
  });

  it('believes X-Forwarded-For only from a trusted peer, and only its right-most untrusted hop', () => {
    const trusted = new AddressRanges(['10.0.0.1/32']);
    expect(sourceAddress('192.0.2.9', '127.0.0.2', trusted)).toBe('192.0.2.9');
    expect(sourceAddress('10.0.0.1', '127.0.0.2', trusted)).toBe('127.0.0.2');
    expect(sourceAddress('10.0.0.1', '127.0.0.2, 198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(sourceAddress('10.0.0.1', '198.51.100.7, 10.0.0.1', trusted)).toBe('198.51.100.7');
    expect(sourceAddress('10.0.0.1', 'not-an-ip', trusted)).toBe('10.0.0.1');
    expect(sourceAddress('::ffff:10.0.0.1', undefined, trusted)).toBe('10.0.0.1');
  });
});

describe('lockout', () => {
  it('blocks an address after 10 failures within 60 s, for 60 s, and no other address', () => {
    let now = 1_000_000;
    const lockout = new Lockout({ now: () => now });
    for (let index = 0; index < 9; index++) lockout.fail('a');
    expect(lockout.blockedFor('a')).toBe(0);
    lockout.fail('a');
    expect(lockout.blockedFor('a')).toBe(60_000);
    expect(lockout.blockedFor('b')).toBe(0);
    now += 60_000;
    expect(lockout.blockedFor('a')).toBe(0);
  });

  it('forgets failures older than the window', () => {
    let now = 0;
    const lockout = new Lockout({ now: () => now });
    for (let index = 0; index < 9; index++) lockout.fail('a');
    now += 61_000;
    lockout.fail('a');
    expect(lockout.blockedFor('a')).toBe(0);
  });

  it('tracks a bounded number of addresses', () => {
    const lockout = new Lockout({ maxTracked: 100 });
    for (let index = 0; index < 1000; index++) lockout.fail(`10.0.${Math.floor(index / 250)}.${index % 250}`);
    // No assertion on internals: the spray must not throw and a fresh address is unaffected.
    expect(lockout.blockedFor('192.0.2.1')).toBe(0);
  });
});

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

describe('secret hashes', () => {
  it('verifies the right password only, and survives malformed hashes', async () => {
    const password = newPassword();
    expect(password).toMatch(/^[A-Za-z0-9_-]{40}$/);
    const hash = await hashSecret(password);
    expect(hash).not.toContain(password);
    expect(await verifySecret(password, hash)).toBe(true);
    expect(await verifySecret(`${password}x`, hash)).toBe(false);
    expect(await verifySecret(password, undefined)).toBe(false);
    expect(await verifySecret(password, 'scrypt$garbage')).toBe(false);
  });
});

describe('JSON keys', () => {
  it('match without regard to case, strings only', () => {
    expect(stringField({ SubDomain: 'x' }, 'subdomain')).toBe('x');
    expect(stringField({ TXT: 'y' }, 'txt')).toBe('y');
    expect(stringField({ txt: 5 }, 'txt')).toBeUndefined();
  });
});
