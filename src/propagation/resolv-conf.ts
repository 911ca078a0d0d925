/**
 * The default bootstrap resolvers: the `nameserver` lines of /etc/resolv.conf. We read the
 * file ourselves instead of calling the system resolver, which would apply its own caching,
 * search domains and timeouts.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { DnsServer } from './address.js';

export const RESOLV_CONF_PATH = '/etc/resolv.conf';

/** The resolvers a resolv.conf text lists, in order, on port 53 (the file has no port syntax). */
export function parseResolvConf(text: string): DnsServer[] {
  const servers: DnsServer[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!match?.[1]) continue;
    // Link-local IPv6 resolvers carry a zone index (fe80::1%eth0); node:dgram takes it as is.
    const host = match[1];
    if (isIP(host.replace(/%.*$/, '')) === 0) continue;
    servers.push({ host, port: 53 });
  }
  return servers;
}

/** The resolvers listed in `path`; none when the file is missing or unreadable. */
export async function readResolvConf(path: string = RESOLV_CONF_PATH): Promise<DnsServer[]> {
  try {
    return parseResolvConf(await readFile(path, 'utf8'));
  } catch {
    return [];
  }
}
