import { describe, expect, it } from 'vitest';
import { canonicalAddress, wantedAddresses } from './dyndns.js';

function wanted(query: string, requester = '192.0.2.1'): Record<string, string> | undefined {
  const result = wantedAddresses(new URLSearchParams(query), requester);
  return result === undefined ? undefined : Object.fromEntries(result);
}

describe('dyndns2 addresses', () => {
  it('canonical forms: IPv4 dotted, IPv6 RFC 5952, IPv4-mapped as IPv4; anything else refused', () => {
    expect(canonicalAddress('198.51.100.7')).toEqual({ family: 'A', address: '198.51.100.7' });
    expect(canonicalAddress('2001:DB8:0:0:0:0:0:1')).toEqual({ family: 'AAAA', address: '2001:db8::1' });
    expect(canonicalAddress('::ffff:192.0.2.5')).toEqual({ family: 'A', address: '192.0.2.5' });
    for (const bad of ['', '300.1.1.1', '1.2.3', 'fe80::1%eth0', 'example.test', '192.0.2.1/24']) expect(canonicalAddress(bad)).toBeUndefined();
  });

  it('myip, myipv6, a v4,v6 pair, or the requester; two of one family is malformed', () => {
    expect(wanted('myip=198.51.100.7')).toEqual({ A: '198.51.100.7' });
    expect(wanted('myipv6=2001:db8::1')).toEqual({ AAAA: '2001:db8::1' });
    expect(wanted('myip=198.51.100.7,2001:db8::1')).toEqual({ A: '198.51.100.7', AAAA: '2001:db8::1' });
    expect(wanted('myip=198.51.100.7&myipv6=2001:db8::1')).toEqual({ A: '198.51.100.7', AAAA: '2001:db8::1' });
    expect(wanted('myip=', '2001:db8::9')).toEqual({ AAAA: '2001:db8::9' });
    expect(wanted('hostname=x', '::ffff:127.0.0.2')).toEqual({ A: '127.0.0.2' });
    expect(wanted('myip=198.51.100.7,198.51.100.8')).toBeUndefined();
    expect(wanted('myipv6=198.51.100.7')).toBeUndefined();
    expect(wanted('myip=2001:db8::1&myipv6=2001:db8::2')).toBeUndefined();
    expect(wanted('myip=not-an-address')).toBeUndefined();
  });
});
