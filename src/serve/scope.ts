/**
 * What an authenticated client may touch: the `_acme-challenge` name of each of its domains
 * (which covers the apex and the wildcard), or the CNAME target of such a name, from the
 * networks it was given. Nothing else: not a deeper name, not another zone.
 */
import { normalizeDomain } from '../challenge/names.js';
import { AddressRanges } from './cidr.js';
import { fulldomainOf, writeNameOf, type ServeClient } from './registry.js';

/** Whether the client may connect from `address` (no `--allow-from`: from anywhere). */
export function sourceAllowed(client: ServeClient, address: string): boolean {
  return client.allowFrom.length === 0 || new AddressRanges(client.allowFrom).contains(address);
}

/** Lower-case, no trailing dot, valid host name; undefined when it is not a DNS name at all. */
export function normalizeRecordName(input: string): string | undefined {
  if (input.startsWith('*.')) return undefined;
  try {
    return normalizeDomain(input);
  } catch {
    return undefined;
  }
}

/** The client's domain whose challenge name (or, delegated, the name serve writes) is exactly `name`. */
export function domainByChallengeName(client: ServeClient, name: string): string | undefined {
  return client.domains.find((domain) => fulldomainOf(domain) === name || writeNameOf(client, domain) === name);
}

/**
 * The client's domain for `name`: its own challenge name, or (lego follows CNAMEs and sends
 * the target) the name that one of its challenge names is a CNAME to. `targetOf` resolves a
 * challenge name through the box's CNAMEs, fresh from the engine.
 */
export async function domainForRecordName(client: ServeClient, name: string, targetOf: (challengeName: string) => Promise<string>): Promise<string | undefined> {
  const direct = domainByChallengeName(client, name);
  if (direct !== undefined) return direct;
  for (const domain of client.domains) {
    try {
      if ((await targetOf(writeNameOf(client, domain))) === name) return domain;
    } catch {
      // A domain whose challenge name does not resolve cannot match; the others still may.
    }
  }
  return undefined;
}

/** The client's domain whose acme-dns subdomain this is. */
export function domainBySubdomain(client: ServeClient, subdomain: string): string | undefined {
  return Object.entries(client.subdomains).find(([, own]) => own === subdomain)?.[0];
}
