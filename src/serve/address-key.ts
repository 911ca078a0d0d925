/**
 * The key under which `serve` counts a peer: an IPv4 address as it is, an IPv6 address by its
 * network prefix (default /64: one customer's subnet, where an attacker holds every address).
 * Every per-address bound (lockout, guesses, connections, audit aggregation) uses this key, for
 * the HTTP and the DNS front-ends alike.
 */
import { isIP } from 'node:net';
import { normalizeAddress } from './cidr.js';

export const DEFAULT_IPV6_PREFIX = 64;

function ipv6Groups(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '');
  // An embedded IPv4 tail (::ffff:1.2.3.4 when not mapped, 64:ff9b::1.2.3.4) as two groups.
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (rest === undefined && missing !== 0)) return undefined;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((group) => parseInt(group, 16));
}

/** `203.0.113.7` -> `203.0.113.7`; `2001:db8:1:2:aa::1` -> `2001:db8:1:2::/64`; anything else as given. */
export function addressKey(address: string, ipv6Prefix: number = DEFAULT_IPV6_PREFIX): string {
  const normalized = normalizeAddress(address);
  if (isIP(normalized) !== 6 || ipv6Prefix >= 128) return normalized;
  const groups = ipv6Groups(normalized);
  if (groups === undefined) return normalized;
  const bits = Math.max(0, Math.min(128, ipv6Prefix));
  const masked = groups.map((group, index) => {
    const keep = Math.max(0, Math.min(16, bits - index * 16));
    return keep === 0 ? 0 : group & (0xffff << (16 - keep)) & 0xffff;
  });
  return `${masked.map((group) => group.toString(16)).join(':')}/${bits}`;
}
