/**
 * Server addresses as users write them (`host[:port]`, `[v6]:port`, bare `v6`) and as we
 * print them. Pure functions: parsing errors are plain `Error`s whose message says what is
 * wrong with the entry; callers that know which setting it came from wrap them.
 */
import { isIP } from 'node:net';

/** A DNS server we can send packets to: an IP literal and a port. */
export interface DnsServer {
  /** IPv4 or IPv6 literal, without brackets (`192.0.2.1`, `2001:db8::1`). */
  readonly host: string;
  readonly port: number;
}

/** A server named in configuration: an IP literal, or a host name still to be resolved. */
export interface ServerSpec {
  /** IP literal (no brackets) or host name (lower-case, no trailing dot). */
  readonly host: string;
  readonly port: number;
}

/** `192.0.2.1:53` or `[2001:db8::1]:53`: the form users type, and the one we print. */
export function formatServer(server: ServerSpec): string {
  return isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

export function isIpAddress(host: string): boolean {
  return isIP(host) !== 0;
}

// Letters, digits, `-` and `_` per label (resolvers and nameservers sometimes carry `_` in
// private setups); at least two labels: a single label would be looked up relative to a
// search domain by other tools, and we never do that.
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

function parsePort(text: string, entry: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new Error(`"${entry}": the port "${text}" is not a number`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new Error(`"${entry}": the port ${port} is outside 1-65535`);
  return port;
}

export interface ParseHostPortOptions {
  /** Port when the entry has none. */
  readonly defaultPort: number;
  /** Accept host names as well as IP literals. */
  readonly allowHostnames: boolean;
}

/**
 * Parses `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal (`::1`; a bare
 * literal has no port, since its last group would read as one).
 */
export function parseHostPort(input: string, options: ParseHostPortOptions): ServerSpec {
  const entry = input.trim();
  if (entry === '') throw new Error('empty entry');
  let host: string;
  let port = options.defaultPort;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(entry);
  if (bracketed) {
    host = bracketed[1] ?? '';
    if (isIP(host) !== 6) throw new Error(`"${entry}": only IPv6 addresses go in brackets`);
    if (bracketed[2] !== undefined) port = parsePort(bracketed[2], entry);
    return { host, port };
  }
  if (isIP(entry) === 6) return { host: entry, port };
  const colon = entry.lastIndexOf(':');
  if (colon >= 0) {
    if (entry.indexOf(':') !== colon) throw new Error(`"${entry}": write an IPv6 address with a port as [address]:port`);
    host = entry.slice(0, colon);
    port = parsePort(entry.slice(colon + 1), entry);
  } else {
    host = entry;
  }
  if (isIP(host) === 4) return { host, port };
  if (!options.allowHostnames) throw new Error(`"${entry}": "${host}" is not an IP address`);
  const name = host.toLowerCase().replace(/\.$/, '');
  if (!HOSTNAME.test(name)) throw new Error(`"${entry}": "${host}" is neither an IP address nor a fully qualified host name`);
  return { host: name, port };
}
