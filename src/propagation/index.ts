/**
 * "Wait until every authoritative nameserver serves the record": settings, nameserver
 * discovery, the low-level queries and the batch wait. Nothing here uses the system
 * resolver (node:dns): every query is built with dns-packet and sent over node:dgram /
 * node:net to servers we chose.
 */
export { formatServer, parseHostPort, type DnsServer, type ServerSpec } from './address.js';
export { discoverNameservers, type DiscoveryOptions, type Nameserver } from './discovery.js';
export { describeObservation, type Observation } from './observation.js';
export type { DnsResponse } from './packet.js';
export type { ProgressSink } from './progress.js';
export {
  queryAuthoritative,
  queryDns,
  queryTxt,
  type AuthoritativeResult,
  type QueryEvent,
  type QueryOptions,
  type QueryResult,
  type TxtResult,
} from './query.js';
export { parseResolvConf, readResolvConf } from './resolv-conf.js';
export { DEFAULT_PROPAGATION_SETTINGS, parsePropagationSettings, type PropagationSettings } from './settings.js';
export { waitForPropagation, type PropagationRecord, type PropagationResult, type WaitOptions } from './wait.js';
