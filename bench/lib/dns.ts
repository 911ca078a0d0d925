/** The reference strategies and the "served from this moment" watcher, on our own queryTxt. */
import { performance } from 'node:perf_hooks';
import type { DnsServer } from '../../src/propagation/address.js';
import { queryTxt } from '../../src/propagation/query.js';
import { sleep } from '../../src/util/poll.js';

export async function serves(server: DnsServer, fqdn: string, value: string, timeoutMs = 2000): Promise<boolean> {
  const result = await queryTxt(server, fqdn, { timeoutMs });
  return result.status === 'answer' && result.values.includes(value);
}

/**
 * Asks `server` about `fqdn` back to back (1 ms apart) from the moment it starts loading a
 * snapshot, and resolves with the time of the first answer that holds `value`: the moment
 * the server started serving it, to within about a millisecond.
 */
export async function watchUntilServed(server: DnsServer, fqdn: string, value: string, limitMs = 60_000): Promise<number> {
  const deadline = performance.now() + limitMs;
  for (;;) {
    const served = await serves(server, fqdn, value, 500);
    const at = performance.now();
    if (served) return at;
    if (at > deadline) throw new Error(`${server.host}:${server.port} did not serve ${fqdn} within ${limitMs} ms`);
    await sleep(1);
  }
}

/**
 * lego's check (`dns01.DefaultPollingInterval`, 2 s): ask every authoritative server at once,
 * and while one lacks the value, sleep a fixed interval and ask again. Resolves with the time
 * every server served it.
 */
export async function fixedIntervalPoll(servers: readonly DnsServer[], fqdn: string, value: string, intervalMs: number, limitMs = 120_000): Promise<number> {
  const deadline = performance.now() + limitMs;
  for (;;) {
    const served = await Promise.all(servers.map((server) => serves(server, fqdn, value)));
    const at = performance.now();
    if (served.every(Boolean)) return at;
    if (at > deadline) throw new Error(`fixed ${intervalMs} ms poll: ${fqdn} not served within ${limitMs} ms`);
    await sleep(intervalMs);
  }
}

/** certbot's DNS plugins (`--dns-*-propagation-seconds`, 10 s by default): just sleep. */
export async function fixedSleep(ms: number): Promise<number> {
  await sleep(ms);
  return performance.now();
}
