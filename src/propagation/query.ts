/**
 * One DNS question to one server, the way this tool asks it: UDP with EDNS0 first, TCP when
 * the reply is truncated, a fresh random ID per message, replies checked against the
 * question. Results are values, not exceptions: "the server said NXDOMAIN" or "no reply"
 * are observations the propagation wait reports, not failures of the program. Only an
 * abort rejects (with the signal's reason), and an unexpected failure as a PropagationError.
 */
import type { Answer, RecordType } from 'dns-packet';
import { MiabDns01Error, PropagationError } from '../errors.js';
import { formatServer, type DnsServer } from './address.js';
import { cnameChain, decodeResponse, encodeQuery, newQueryId, sameName, txtValues, type DnsResponse, type QuerySpec } from './packet.js';
import { TransportFailure, tcpExchange, udpExchange, type TransportFailureKind } from './transport.js';

/** One message sent, for logs and tests (which servers were asked, over what). */
export interface QueryEvent {
  /** `host:port` (`[v6]:port`) of the server asked. */
  readonly server: string;
  readonly name: string;
  readonly type: RecordType;
  readonly transport: 'udp' | 'tcp';
  readonly recursionDesired: boolean;
}

export interface QueryOptions {
  /** Limit for each exchange (the UDP attempt and, if needed, the TCP one). @default 2000 */
  readonly timeoutMs?: number;
  /** Aborts the query: the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Called for every message sent. */
  readonly onQuery?: (event: QueryEvent) => void;
  /**
   * Ask once more over TCP when UDP got no reply in time: some networks and resolvers drop
   * UDP queries (or large UDP replies) but answer over TCP. Off for the propagation wait,
   * which asks again next round anyway. @default false
   */
  readonly tcpAfterUdpTimeout?: boolean;
}

export type QueryResult =
  | { readonly kind: 'response'; readonly response: DnsResponse; readonly transport: 'udp' | 'tcp' }
  | { readonly kind: 'no-answer'; readonly failure: TransportFailureKind; readonly detail: string };

const DEFAULT_TIMEOUT_MS = 2000;

/**
 * Asks `server` about (`name`, `type`) with RD set as `recursionDesired` says. UDP with an
 * EDNS0 OPT (4096-byte payload) first; without EDNS when the server answers FORMERR (an old
 * server that does not know OPT); over TCP when the UDP reply has TC set.
 */
export async function queryDns(
  server: DnsServer,
  name: string,
  type: RecordType,
  recursionDesired: boolean,
  options: QueryOptions = {},
): Promise<QueryResult> {
  try {
    return await queryOnce(server, name, type, recursionDesired, options);
  } catch (error) {
    if (options.signal?.aborted || error instanceof MiabDns01Error) throw error;
    // Transport failures are values; anything else (a name dns-packet cannot encode, a bug)
    // must still reach the caller as one of our errors, never as a bare exception.
    throw new PropagationError('dns-query-failed', `asking ${formatServer(server)} for ${type} ${name} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

async function queryOnce(server: DnsServer, name: string, type: RecordType, recursionDesired: boolean, options: QueryOptions): Promise<QueryResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const exchangeOnce = async (transport: 'udp' | 'tcp', edns: boolean): Promise<DnsResponse> => {
    const query: QuerySpec = { id: newQueryId(), name, type, recursionDesired, edns };
    let response: DnsResponse | undefined;
    const exchangeOptions = {
      timeoutMs,
      signal: options.signal,
      accept: (reply: Buffer): void => {
        response = decodeResponse(reply, query);
      },
    };
    options.onQuery?.({ server: formatServer(server), name, type, transport, recursionDesired });
    const send = transport === 'udp' ? udpExchange : tcpExchange;
    await send(server, encodeQuery(query), exchangeOptions);
    if (!response) throw new Error('internal error: reply accepted but not decoded');
    return response;
  };

  const overTcp = async (why: string): Promise<QueryResult> => {
    try {
      return { kind: 'response', response: await exchangeOnce('tcp', true), transport: 'tcp' };
    } catch (error) {
      if (error instanceof TransportFailure) return { kind: 'no-answer', failure: error.kind, detail: `${why}, and TCP failed: ${error.message}` };
      throw error;
    }
  };

  let response: DnsResponse;
  try {
    response = await exchangeOnce('udp', true);
    if (response.rcode === 'FORMERR') response = await exchangeOnce('udp', false);
  } catch (error) {
    if (!(error instanceof TransportFailure)) throw error;
    if (error.kind === 'timeout' && options.tcpAfterUdpTimeout) return overTcp(error.message);
    return { kind: 'no-answer', failure: error.kind, detail: error.message };
  }
  if (!response.truncated) return { kind: 'response', response, transport: 'udp' };
  return overTcp('the reply was too large for UDP');
}

/** What an authoritative server said, classified the way the propagation wait reasons. */
export type AuthoritativeResult =
  /** NOERROR with AA: `records` are those of the asked type at the name (empty: NODATA). */
  | { readonly status: 'answer'; readonly records: readonly Answer[]; readonly response: DnsResponse; readonly transport: 'udp' | 'tcp' }
  /** NXDOMAIN with AA: the server serves the zone and the name does not exist there (yet). */
  | { readonly status: 'nxdomain'; readonly response: DnsResponse; readonly transport: 'udp' | 'tcp' }
  /** NOERROR or NXDOMAIN without AA: a resolver or a server not loaded with the zone; proves nothing. */
  | { readonly status: 'not-authoritative'; readonly response: DnsResponse; readonly transport: 'udp' | 'tcp' }
  /** Any other rcode (REFUSED: does not serve the zone; SERVFAIL: failed to load it; ...). */
  | { readonly status: 'error'; readonly rcode: string; readonly response: DnsResponse; readonly transport: 'udp' | 'tcp' }
  | { readonly status: 'no-answer'; readonly failure: TransportFailureKind; readonly detail: string };

/**
 * Asks an authoritative server directly (RD clear). An answer only counts with AA set: a
 * server that answers from a cache or from elsewhere does not tell us what the zone holds.
 */
export async function queryAuthoritative(server: DnsServer, name: string, type: RecordType, options: QueryOptions = {}): Promise<AuthoritativeResult> {
  const result = await queryDns(server, name, type, false, options);
  if (result.kind === 'no-answer') return { status: 'no-answer', failure: result.failure, detail: result.detail };
  const { response, transport } = result;
  if (response.rcode !== 'NOERROR' && response.rcode !== 'NXDOMAIN') return { status: 'error', rcode: response.rcode, response, transport };
  if (!response.authoritative) return { status: 'not-authoritative', response, transport };
  if (response.rcode === 'NXDOMAIN') return { status: 'nxdomain', response, transport };
  const records = response.answers.filter((record) => record.type === type && sameName(record.name, name));
  return { status: 'answer', records, response, transport };
}

/** An authoritative TXT lookup, with the values decoded. */
export type TxtResult =
  | {
      readonly status: 'answer';
      /** Each TXT record at the name, its strings joined. Empty: the name exists without TXT (NODATA). */
      readonly values: readonly string[];
      /** Set when the name is an alias: the server answered with a CNAME to this target. */
      readonly cname: string | undefined;
      readonly transport: 'udp' | 'tcp';
    }
  | Exclude<AuthoritativeResult, { readonly status: 'answer' }>;

/** Asks an authoritative server (RD clear, AA required) for the TXT records at `name`. */
export async function queryTxt(server: DnsServer, name: string, options: QueryOptions = {}): Promise<TxtResult> {
  const result = await queryAuthoritative(server, name, 'TXT', options);
  if (result.status !== 'answer' && result.status !== 'nxdomain') return result;
  const chain = cnameChain(result.response.answers, name);
  // A server that also serves the CNAME's target follows it, and the rcode then describes
  // the target (NXDOMAIN when the target does not exist): the name we asked still exists.
  if (result.status === 'nxdomain' && chain.length === 1) return result;
  return {
    status: 'answer',
    values: txtValues(result.response.answers, name),
    cname: chain.length > 1 ? chain[1] : undefined,
    transport: result.transport,
  };
}
