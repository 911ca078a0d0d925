/**
 * The dyndns2 front-end of `serve` (`GET /nic/update`), spoken by ddclient, inadyn, routers
 * (FRITZ!Box "user-defined", OpenWrt ddns-scripts, pfSense): HTTP Basic with a client's
 * credentials, `hostname=<h1>[,<h2>...]`, `myip=<v4>[,<v6>]` / `myipv6=<v6>` or the requester's
 * address. Each host is one of the client's `--ddns-host`s; its A (AAAA) becomes exactly that
 * address. The answer is plain text, one line per host in request order (ddclient updates only
 * the first host when it gets one line), always with a Content-Length (ddclient 3.10 cannot
 * read a chunked body), and it comes as soon as the box has the change: dyndns clients do not
 * check the nameservers, and a resolver would serve the old address for the TTL anyway.
 */
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressRecordStore, AddressRecordType } from '../providers/provider.js';
import type { Logger } from '../util/log.js';
import { normalizeAddress } from './cidr.js';
import { logFailure } from './failures.js';
import { basicCredentials, type HandlerResult } from './http.js';
import type { AuthGate } from './auth-gate.js';
import type { InFlightLimit } from './fair-queue.js';
import type { ClientRegistry, ServeClient } from './registry.js';
import { normalizeRecordName, sourceAllowed } from './scope.js';
import type { ChallengeWriter } from './writer.js';

/** More hostnames than this in one request: `numhost` (dyndns2's own limit). */
export const MAX_HOSTS_PER_REQUEST = 20;

export interface DyndnsOptions {
  readonly registry: ClientRegistry;
  /** Every password check: guess reservation, bounded slow hashes (as for the other protocols). */
  readonly gate: AuthGate;
  /** Writes in flight per client: one request at a time beyond the limit is refused (911). */
  readonly writes: InFlightLimit;
  /** Box writes go through its queue, one at a time with the challenge writes, clients taking turns. */
  readonly writer: ChallengeWriter;
  /** The provider's A/AAAA store; undefined when the DNS host cannot write addresses. */
  readonly addresses: AddressRecordStore | undefined;
  readonly log: Logger;
}

/** A dyndns2 answer: plain text instead of the JSON the other protocols answer. */
export interface DyndnsResult extends HandlerResult {
  readonly text: string;
}

export function isDyndnsResult(result: HandlerResult): result is DyndnsResult {
  return 'text' in result && typeof result.text === 'string';
}

export function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  response.end(text);
}

const UNAUTHORIZED_HEADERS = { 'www-authenticate': 'Basic realm="miab-dns01", charset="UTF-8"' };

/** The answer when the source address is locked out (whatever it sends). */
export function abuseResult(retryAfterSeconds: number): DyndnsResult {
  return { status: 429, text: 'abuse\n', body: null, client: null, name: null, note: 'locked_out', headers: { 'retry-after': String(retryAfterSeconds) } };
}

/** The answer when serve itself failed before the hosts could be answered one by one. */
export function serverFaultResult(status = 200): DyndnsResult {
  return { status, text: '911\n', body: null, client: null, name: null, note: status === 413 ? 'body_too_large' : 'internal_error' };
}

/** An address in the form the box is sent and compared in: IPv4 dotted, IPv6 RFC 5952. */
export function canonicalAddress(text: string): { family: AddressRecordType; address: string } | undefined {
  const plain = normalizeAddress(text.trim());
  const family = isIP(plain);
  if (family === 4) return { family: 'A', address: plain };
  if (family !== 6 || plain.includes('%')) return undefined;
  // The URL parser serializes an IPv6 host canonically (lower-case, longest zero run compressed).
  return { family: 'AAAA', address: new URL(`http://[${plain}]/`).hostname.slice(1, -1) };
}

/** Addresses as the box lists them, in canonical form (a value that is no address stays as it is). */
export function canonicalAddresses(values: readonly string[]): string[] {
  return values.map((value) => canonicalAddress(value)?.address ?? value);
}

/** The wanted addresses, at most one per family; undefined when a given address is malformed. */
export function wantedAddresses(params: URLSearchParams, requester: string): Map<AddressRecordType, string> | undefined {
  const given = [...(params.get('myip') ?? '').split(','), ...(params.get('myipv6') ?? '').split(',')].map((part) => part.trim()).filter((part) => part !== '');
  const wanted = new Map<AddressRecordType, string>();
  if (given.length === 0) {
    // No address sent: the requester's own (the TCP peer, or X-Forwarded-For from a trusted proxy).
    const own = canonicalAddress(requester);
    if (own !== undefined) wanted.set(own.family, own.address);
    return wanted;
  }
  const myipv6 = (params.get('myipv6') ?? '').trim();
  for (const part of given) {
    const parsed = canonicalAddress(part);
    if (parsed === undefined || wanted.has(parsed.family)) return undefined;
    wanted.set(parsed.family, parsed.address);
  }
  if (myipv6 !== '' && canonicalAddress(myipv6)?.family !== 'AAAA') return undefined;
  return wanted;
}

/** The request's parameters: the query string, and for a POST a form body too (the query wins). */
function parameters(url: URL, method: string, rawBody: string): URLSearchParams {
  const params = new URLSearchParams(url.searchParams);
  if (method === 'POST' && rawBody.trim() !== '') {
    for (const [key, value] of new URLSearchParams(rawBody.trim())) if (!params.has(key)) params.set(key, value);
  }
  return params;
}

function inZones(name: string, zones: readonly string[]): boolean {
  return zones.some((zone) => name === zone || name.endsWith(`.${zone}`));
}

/**
 * What `serve` says at start about the registry's `--ddns-host` names: ones no update can
 * succeed for (outside every box zone, or a DNS host without A/AAAA records).
 */
export function ddnsStartupWarnings(clients: readonly ServeClient[], zones: readonly string[], canWriteAddresses: boolean): string[] {
  const warnings: string[] = [];
  for (const client of clients) {
    const hosts = client.ddnsHosts ?? [];
    if (hosts.length === 0) continue;
    if (!canWriteAddresses) {
      warnings.push(`client ${client.name} has --ddns-host names, but this DNS host cannot write A/AAAA records: its dyndns updates answer 911 (use the Mail-in-a-Box or cPanel provider)`);
      continue;
    }
    const outside = hosts.filter((host) => !inZones(host, zones));
    if (outside.length > 0) warnings.push(`client ${client.name}: --ddns-host ${outside.join(', ')} is in none of the box's zones (${zones.join(', ') || 'none'}): its updates answer dnserr`);
  }
  return warnings;
}

interface HostOutcome {
  readonly line: string;
}

/** One host: read what it holds, write each family that differs (inside the box write queue). */
async function updateHost(client: ServeClient, host: string, wanted: Map<AddressRecordType, string>, options: DyndnsOptions): Promise<HostOutcome> {
  const { addresses, log } = options;
  const shown = [...wanted.values()].join(',');
  if (addresses === undefined) {
    log.warn(`dyndns update of ${host} for client ${client.name}: the configured DNS host cannot write A/AAAA records (use the Mail-in-a-Box or cPanel provider)`);
    return { line: '911' };
  }
  try {
    if (!inZones(host, await addresses.zones())) {
      log.warn(`dyndns update of ${host} for client ${client.name}: the name is in none of the box's zones; remove the --ddns-host or add the zone to the box`);
      return { line: 'dnserr' };
    }
    return await options.writer.serialized(client.name, async () => {
      const current = await addresses.read(host);
      if (current.cname !== undefined) {
        // An address beside a CNAME makes nsd refuse the whole zone.
        log.warn(`dyndns update of ${host} for client ${client.name}: the name is a CNAME to ${current.cname} on the box; not adding an address beside it`);
        return { line: 'dnserr' };
      }
      let changed = false;
      for (const [family, address] of wanted) {
        const held = canonicalAddresses(family === 'A' ? current.a : current.aaaa);
        if (held.length === 1 && held[0] === address) continue;
        await addresses.replace(host, family, address);
        changed = true;
        log.info(`dyndns: ${family} ${host} = ${address} for client ${client.name} (was ${held.join(', ') || 'none'})`);
      }
      return { line: `${changed ? 'good' : 'nochg'} ${shown}` };
    });
  } catch (error) {
    logFailure(log, `dyndns update of ${host} for client ${client.name}`, error);
    return { line: 'dnserr' };
  }
}

/** `GET|POST /nic/update`. Authentication failures are answered 401 (counted by the lockout). */
export async function handleNicUpdate(request: IncomingMessage, url: URL, rawBody: string, ip: string, options: DyndnsOptions): Promise<DyndnsResult> {
  const credentials = basicCredentials(request);
  if (credentials === undefined) return { status: 401, text: 'badauth\n', body: null, client: null, name: null, note: 'no_credentials', headers: UNAUTHORIZED_HEADERS };
  const outcome = await options.gate.authenticate(ip, credentials.username, credentials.password);
  if (outcome.kind === 'bad') return { status: 401, text: 'badauth\n', body: null, client: null, name: null, note: 'bad_credentials', headers: UNAUTHORIZED_HEADERS };
  if (outcome.kind === 'locked') return { ...abuseResult(outcome.retryAfterS), note: 'guess_limit' };
  // Too many password checks in flight: dyndns2 has no "busy"; 911 makes clients retry later.
  if (outcome.kind === 'busy') return { status: 200, text: '911\n', body: null, client: null, name: null, note: 'verifications_full', headers: { 'retry-after': String(outcome.retryAfterS) } };
  const { client } = outcome;
  // dyndns2 has no "forbidden": a client outside its networks gets badauth, as a stranger would.
  if (!sourceAllowed(client, ip)) return { status: 401, text: 'badauth\n', body: null, client: client.name, name: null, note: 'source_not_allowed', headers: UNAUTHORIZED_HEADERS };

  const params = parameters(url, request.method ?? 'GET', rawBody);
  const requested = (params.get('hostname') ?? '')
    .split(',')
    .map((host) => host.trim())
    .filter((host) => host !== '');
  if (requested.length === 0) return { status: 200, text: 'notfqdn\n', body: null, client: client.name, name: null, note: 'no_hostname' };
  if (requested.length > MAX_HOSTS_PER_REQUEST) return { status: 200, text: 'numhost\n', body: null, client: client.name, name: null, note: 'numhost' };
  const hosts = requested.map((host) => normalizeRecordName(host));
  // Only checked names reach the audit log, never text as sent.
  const auditName = hosts.map((host) => host ?? '(not-a-name)').join(',');
  const wanted = wantedAddresses(params, ip);

  const owned = (host: string | undefined): host is string => host !== undefined && (client.ddnsHosts ?? []).includes(host);
  const writes = wanted !== undefined && wanted.size > 0 && hosts.some(owned);
  if (writes && !options.writes.begin(client.name)) {
    return { status: 200, text: `${hosts.map(() => '911').join('\n')}\n`, body: null, client: client.name, name: auditName, note: 'writes_in_flight', headers: { 'retry-after': '1' } };
  }
  const lines: string[] = [];
  try {
    for (const host of hosts) {
      if (host === undefined) lines.push('notfqdn');
      else if (!owned(host)) lines.push('nohost');
      else if (wanted === undefined || wanted.size === 0) lines.push('dnserr');
      else lines.push((await updateHost(client, host, wanted, options)).line);
    }
  } finally {
    if (writes) options.writes.end(client.name);
  }
  if (wanted === undefined) options.log.info(`dyndns request of client ${client.name}: myip/myipv6 is not one IPv4 and/or one IPv6 address; nothing written`);
  if (lines.some((line) => line.startsWith('good') || line.startsWith('nochg'))) options.registry.touch(client);
  const codes = [...new Set(lines.map((line) => line.split(' ')[0] ?? line))];
  return { status: 200, text: `${lines.join('\n')}\n`, body: null, client: client.name, name: auditName, note: wanted === undefined ? 'bad_myip' : codes.join(',') };
}
