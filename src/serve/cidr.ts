/**
 * Source-address ranges (`--allow-from`, `--trust-proxy`): parsed once at start-up so a typo
 * is a configuration error, not a silently open or closed door at request time.
 */
import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../errors.js';

/** `::ffff:127.0.0.2` (how Node reports IPv4 peers on a dual-stack socket) -> `127.0.0.2`. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return (mapped ? mapped[1] ?? address : address).toLowerCase();
}

/** Canonical `address/prefix`; a bare address is a single-host range. */
export function parseCidr(text: string, option: string): string {
  const [addressPart = '', prefixPart, extra] = text.trim().split('/');
  const address = normalizeAddress(addressPart);
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  const prefix = prefixPart === undefined ? max : Number(prefixPart);
  if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixPart !== undefined && !/^\d+$/.test(prefixPart))) {
    throw new ConfigError('usage', `${option} takes an address range such as 192.0.2.0/24, 10.0.0.5 or 2001:db8::/32 (got ${JSON.stringify(text)})`);
  }
  return `${address}/${prefix}`;
}

/** Whether an address falls into any of the ranges. An empty list matches nothing. */
export class AddressRanges {
  readonly #list = new BlockList();
  readonly ranges: readonly string[];

  constructor(cidrs: readonly string[]) {
    this.ranges = cidrs;
    for (const cidr of cidrs) {
      const [address = '', prefix = ''] = cidr.split('/');
      this.#list.addSubnet(address, Number(prefix), isIP(address) === 4 ? 'ipv4' : 'ipv6');
    }
  }

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  contains(address: string): boolean {
    const normalized = normalizeAddress(address);
    const family = isIP(normalized);
    if (family === 0) return false;
    return this.#list.check(normalized, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The address a request comes from: the TCP peer, or, when the peer is a trusted proxy, the
 * right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries further left
 * were written by the client and prove nothing).
 */
export function sourceAddress(peer: string, forwardedFor: string | undefined, trusted: AddressRanges): string {
  const direct = normalizeAddress(peer);
  if (forwardedFor === undefined || !trusted.contains(direct)) return direct;
  const hops = forwardedFor
    .split(',')
    .map((hop) => normalizeAddress(hop.trim()))
    .filter((hop) => hop !== '');
  for (let index = hops.length - 1; index >= 0; index--) {
    const hop = hops[index] ?? '';
    if (isIP(hop) === 0) return direct;
    if (!trusted.contains(hop)) return hop;
  }
  return hops[0] ?? direct;
}
