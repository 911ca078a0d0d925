/**
 * Which servers to check for a zone: its NS set and each nameserver's A and AAAA addresses,
 * looked up through the bootstrap (recursive) resolvers; or the servers the user listed in
 * `MIAB_NAMESERVERS`. Only the zone apex and the nameservers' names are ever asked here:
 * never the challenge name, whose "does not exist" a resolver would cache for a day.
 */
import type { RecordType } from 'dns-packet';
import { PropagationError } from '../errors.js';
import { formatServer, isIpAddress, type DnsServer, type ServerSpec } from './address.js';
import { cnameChain, stringRecords } from './packet.js';
import { queryDns, type QueryOptions } from './query.js';
import { readResolvConf, RESOLV_CONF_PATH } from './resolv-conf.js';
import type { PropagationSettings } from './settings.js';

/** One address to check, with the NS names that led to it. */
export interface Nameserver {
  /** NS host names resolving to this address; empty when the user gave the address itself. */
  readonly names: readonly string[];
  readonly address: DnsServer;
}

export interface DiscoveryOptions {
  /** Aborts the lookups. */
  readonly signal?: AbortSignal;
  /** Called for every DNS message sent. */
  readonly onQuery?: QueryOptions['onQuery'];
  /** Where the default resolvers come from when `settings.resolvers` is unset. @default '/etc/resolv.conf' */
  readonly resolvConfPath?: string;
  /** How messages name the DNS host serving the zone (`DnsProvider.hostLabel`). @default 'DNS host' */
  readonly host?: string;
  /** Told about nameservers left out (e.g. a name without any address). @default ignore */
  readonly warn?: (message: string) => void;
}

/** A bootstrap lookup's outcome: records (possibly none), or NXDOMAIN, both from a working resolver. */
type BootstrapAnswer = { readonly kind: 'records'; readonly values: string[] } | { readonly kind: 'nxdomain'; readonly resolver: string };

/** Lists `resolvers` (or resolv.conf's) and the problems of each, for error messages. */
class Bootstrap {
  /** Tried in this order; a resolver that failed moves to the back, so the next lookups do not wait on it first. */
  #resolvers: DnsServer[];
  readonly #queryOptions: QueryOptions;
  readonly #source: string;

  constructor(resolvers: readonly DnsServer[], source: string, queryOptions: QueryOptions) {
    this.#resolvers = [...resolvers];
    this.#source = source;
    // A resolver (or the network to it) that drops UDP may still answer over TCP.
    this.#queryOptions = { ...queryOptions, tcpAfterUdpTimeout: true };
  }

  /**
   * Asks each resolver in turn (RD set) until one gives a usable answer. A resolver that
   * times out, refuses or fails is skipped; NXDOMAIN is an answer. Throws
   * `nameserver-discovery-failed` when none answers.
   */
  async lookup(name: string, type: Extract<RecordType, 'A' | 'AAAA' | 'NS'>): Promise<BootstrapAnswer> {
    const problems: string[] = [];
    for (const resolver of [...this.#resolvers]) {
      const result = await queryDns(resolver, name, type, true, this.#queryOptions);
      if (result.kind === 'no-answer') {
        problems.push(result.detail);
        this.#demote(resolver);
        continue;
      }
      const { response } = result;
      if (response.rcode === 'NXDOMAIN') return { kind: 'nxdomain', resolver: formatServer(resolver) };
      if (response.rcode !== 'NOERROR') {
        problems.push(`${formatServer(resolver)} answered ${response.rcode}`);
        continue;
      }
      return { kind: 'records', values: stringRecords(response.answers, cnameChain(response.answers, name), type) };
    }
    throw new PropagationError(
      'nameserver-discovery-failed',
      `cannot look up ${type} ${name}: no bootstrap resolver answered (${problems.join('; ')}). ` +
        `The resolvers come from ${this.#source}: set MIAB_DNS_RESOLVERS to resolvers this machine can reach, ` +
        'or MIAB_NAMESERVERS to the authoritative servers to check.',
    );
  }

  #demote(resolver: DnsServer): void {
    this.#resolvers = [...this.#resolvers.filter((other) => other !== resolver), resolver];
  }

  /**
   * The A and AAAA addresses of `host`, each with `port`; empty when it has none. Some
   * resolvers and middleboxes drop AAAA queries: when A gave addresses, an AAAA lookup that
   * no resolver answered counts as "no AAAA" (with a warning) instead of failing discovery.
   */
  async addresses(host: string, port: number, warn?: (message: string) => void): Promise<DnsServer[]> {
    const [v4, v6] = await Promise.allSettled([this.lookup(host, 'A'), this.lookup(host, 'AAAA')]);
    if (v4.status === 'rejected') throw v4.reason;
    const ipv4 = v4.value.kind === 'records' ? v4.value.values : [];
    let ipv6: string[] = [];
    if (v6.status === 'fulfilled') {
      ipv6 = v6.value.kind === 'records' ? v6.value.values : [];
    } else if (ipv4.length > 0 && v6.reason instanceof PropagationError) {
      warn?.(`no bootstrap resolver answered the AAAA query for ${host} (A answered): checking it at its IPv4 address${ipv4.length === 1 ? '' : 'es'} only`);
    } else {
      throw v6.reason;
    }
    return [...ipv4, ...ipv6].map((ip) => ({ host: ip, port }));
  }
}

async function bootstrapFor(settings: PropagationSettings, options: DiscoveryOptions): Promise<Bootstrap> {
  const queryOptions: QueryOptions = { timeoutMs: settings.queryTimeoutMs, signal: options.signal, onQuery: options.onQuery };
  if (settings.resolvers) return new Bootstrap(settings.resolvers, 'MIAB_DNS_RESOLVERS', queryOptions);
  const path = options.resolvConfPath ?? RESOLV_CONF_PATH;
  const resolvers = await readResolvConf(path);
  if (resolvers.length === 0) {
    throw new PropagationError(
      'nameserver-discovery-failed',
      `no bootstrap resolver: ${path} lists no usable "nameserver" line. Set MIAB_DNS_RESOLVERS (e.g. 9.9.9.9,1.1.1.1) ` +
        'or MIAB_NAMESERVERS (the authoritative servers to check).',
    );
  }
  return new Bootstrap(resolvers, path, queryOptions);
}

/** Merges entries that share an address (ns1 and ns2 are often the same box). */
function mergeByAddress(entries: readonly Nameserver[]): Nameserver[] {
  const merged = new Map<string, { names: string[]; address: DnsServer }>();
  for (const entry of entries) {
    const key = formatServer(entry.address);
    const existing = merged.get(key);
    if (existing) {
      for (const name of entry.names) if (!existing.names.includes(name)) existing.names.push(name);
    } else {
      merged.set(key, { names: [...entry.names], address: entry.address });
    }
  }
  return [...merged.values()];
}

/** Resolves the user's `MIAB_NAMESERVERS`: addresses as given, host names through the resolvers. */
async function configuredNameservers(specs: readonly ServerSpec[], settings: PropagationSettings, options: DiscoveryOptions): Promise<Nameserver[]> {
  // Created on first use only: a list of plain addresses needs no resolver at all.
  let bootstrap: Promise<Bootstrap> | undefined;
  const entries = await Promise.all(
    specs.map(async (spec): Promise<Nameserver[]> => {
      if (isIpAddress(spec.host)) return [{ names: [], address: { host: spec.host, port: spec.port } }];
      bootstrap ??= bootstrapFor(settings, options);
      const addresses = await (await bootstrap).addresses(spec.host, spec.port, options.warn);
      if (addresses.length === 0) {
        throw new PropagationError(
          'nameserver-discovery-failed',
          `MIAB_NAMESERVERS lists ${spec.host}, which has no A or AAAA record: fix the name, or give its IP address instead.`,
        );
      }
      return addresses.map((address) => ({ names: [spec.host], address }));
    }),
  );
  return mergeByAddress(entries.flat());
}

/**
 * The addresses to check for `zone` (lower-case, no trailing dot): `settings.nameservers`
 * when set, else every A and AAAA address of every NS of the zone, on `settings.dnsPort`.
 * Throws `PropagationError('nameserver-discovery-failed')` when no address can be found.
 */
export async function discoverNameservers(zone: string, settings: PropagationSettings, options: DiscoveryOptions = {}): Promise<Nameserver[]> {
  if (settings.nameservers) return configuredNameservers(settings.nameservers, settings, options);

  const bootstrap = await bootstrapFor(settings, options);
  const ns = await bootstrap.lookup(zone, 'NS');
  if (ns.kind === 'nxdomain') {
    throw new PropagationError(
      'nameserver-discovery-failed',
      `${zone} does not exist in DNS (NXDOMAIN from ${ns.resolver}): is the domain registered and delegated to the ${options.host ?? 'DNS host'}'s nameservers? ` +
        'To check specific servers anyway, set MIAB_NAMESERVERS.',
    );
  }
  const names = [...new Set(ns.values.map((name) => name.toLowerCase().replace(/\.$/, '')))];
  if (names.length === 0) {
    throw new PropagationError(
      'nameserver-discovery-failed',
      `${zone} has no NS records according to the bootstrap resolvers: is it delegated to the ${options.host ?? 'DNS host'}? Set MIAB_NAMESERVERS to check specific servers.`,
    );
  }

  const resolved = await Promise.all(names.map(async (name) => ({ name, addresses: await bootstrap.addresses(name, settings.dnsPort, options.warn) })));
  for (const { name, addresses } of resolved) {
    // The ACME server cannot use such a nameserver either; it would try the others.
    if (addresses.length === 0) options.warn?.(`nameserver ${name} of ${zone} has no A or AAAA record: not checking it`);
  }
  const found = mergeByAddress(resolved.flatMap(({ name, addresses }) => addresses.map((address) => ({ names: [name], address }))));
  if (found.length === 0) {
    throw new PropagationError(
      'nameserver-discovery-failed',
      `none of the nameservers of ${zone} (${names.join(', ')}) has an address: fix their A/AAAA records, or set MIAB_NAMESERVERS.`,
    );
  }
  return found;
}
