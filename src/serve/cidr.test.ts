/** Address ranges and X-Forwarded-For: who a request really comes from decides --allow-from. */
import { describe, expect, it } from 'vitest';
import { AddressRanges, parseCidr, sourceAddress } from './cidr.js';

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
