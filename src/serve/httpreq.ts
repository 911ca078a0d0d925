/**
 * lego's httpreq protocol (acme.sh calls it acmeproxy; libdns has a client): `POST /present`
 * and `POST /cleanup` with HTTP Basic, body `{"fqdn", "value"}` or, in RAW mode,
 * `{"domain", "token", "keyAuth"}` (keys in any case). The answer echoes what was received:
 * acme.sh counts success only when the body holds the value in double quotes.
 */
import { txtValueFromKeyAuthorization, validateTxtValue } from '../challenge/names.js';
import type { Logger } from '../util/log.js';
import type { IncomingMessage } from 'node:http';
import { ACME_TXT_RULE, isAcmeChallengeValue } from './acme-txt.js';
import { failureBody, failureStatus, logFailure } from './failures.js';
import { basicCredentials, parseJsonObject, stringField, type HandlerResult } from './http.js';
import { fulldomainOf, writeNameOf, type ClientRegistry, type ServeClient } from './registry.js';
import { domainForRecordName, normalizeRecordName, sourceAllowed } from './scope.js';
import type { AuthGate, AuthOutcome } from './auth-gate.js';
import type { InFlightLimit } from './fair-queue.js';
import type { WriteOwnership } from './ownership.js';
import type { ChallengeWriter } from './writer.js';

export interface HttpreqOptions {
  readonly registry: ClientRegistry;
  readonly writer: ChallengeWriter;
  readonly log: Logger;
  /** Who wrote what: `/cleanup` removes only what this client wrote. */
  readonly ownership: WriteOwnership;
  /** Every password check: guess reservation, bounded slow hashes. */
  readonly gate: AuthGate;
  /** Writes in flight per client (429 beyond). */
  readonly writes: InFlightLimit;
  /** Live values one client may hold at one name (429 beyond). */
  readonly maxValuesPerName: number;
  /** At the values cap, a value older than this is taken as left behind (a killed run) and replaced. */
  readonly staleAfterMs: number;
}

const UNAUTHORIZED_HEADERS = { 'www-authenticate': 'Basic realm="miab-dns01", charset="UTF-8"' };

/** The answer for an authentication that was refused before (or instead of) verifying. */
export function refusedAuthentication(outcome: Exclude<AuthOutcome, { kind: 'ok' } | { kind: 'bad' }>): HandlerResult {
  return outcome.kind === 'locked'
    ? { status: 429, body: { error: 'too_many_failed_authentications' }, client: null, name: null, note: 'guess_limit', headers: { 'retry-after': String(outcome.retryAfterS) } }
    : { status: 503, body: { error: 'busy', message: 'too many password checks in flight; retry shortly' }, client: null, name: null, note: 'verifications_full', headers: { 'retry-after': String(outcome.retryAfterS) } };
}

/** The authenticated client allowed from `ip`, or the refusal to answer. */
async function authorize(request: IncomingMessage, ip: string, gate: AuthGate): Promise<ServeClient | HandlerResult> {
  const credentials = basicCredentials(request);
  if (credentials === undefined) return { status: 401, body: { error: 'unauthorized' }, client: null, name: null, note: 'no_credentials', headers: UNAUTHORIZED_HEADERS };
  const outcome = await gate.authenticate(ip, credentials.username, credentials.password);
  if (outcome.kind === 'bad') return { status: 401, body: { error: 'unauthorized' }, client: null, name: null, note: 'bad_credentials', headers: UNAUTHORIZED_HEADERS };
  if (outcome.kind !== 'ok') return refusedAuthentication(outcome);
  const { client } = outcome;
  if (!sourceAllowed(client, ip)) return { status: 403, body: { error: 'forbidden' }, client: client.name, name: null, note: 'source_not_allowed' };
  return client;
}

function isClient(value: ServeClient | HandlerResult): value is ServeClient {
  return 'username' in value;
}

/** One domain of a client as `GET /scope` describes it (for serve-client stores). */
export interface ScopeEntry {
  readonly domain: string;
  /** `_acme-challenge.<domain>` */
  readonly challenge: string;
  /** Where the value is written: the challenge name or its CNAME target. */
  readonly target: string;
  /** The box zone holding `target`. */
  readonly zone: string;
}

/**
 * `GET /scope` (our extension, same Basic auth): the client's own domains and where their
 * values go, so a serve client can resolve names and wait on the right zone's nameservers.
 */
export async function handleScope(request: IncomingMessage, ip: string, options: HttpreqOptions): Promise<HandlerResult> {
  const client = await authorize(request, ip, options.gate);
  if (!isClient(client)) return client;
  const domains: ScopeEntry[] = [];
  for (const domain of client.domains) {
    try {
      const located = await options.writer.locate(writeNameOf(client, domain));
      domains.push({ domain, challenge: fulldomainOf(domain), target: located.fqdn, zone: located.zone });
    } catch (error) {
      logFailure(options.log, `scope of ${domain} for client ${client.name}`, error);
    }
  }
  options.registry.touch(client);
  return { status: 200, body: { client: client.name, domains }, client: client.name, name: null };
}

/**
 * At the cap, the client's oldest value goes when it is older than `staleAfterMs` (no ACME
 * validation takes that long: a run that was killed before its cleanup left it).
 */
async function releaseLeftBehind(client: string, writeName: string, options: HttpreqOptions): Promise<void> {
  const oldest = options.ownership.oldestOwnedBy(client, writeName);
  if (oldest === undefined || Date.now() - oldest.writtenAt < options.staleAfterMs) return;
  if (options.ownership.otherOwners(client, writeName, oldest.value).length === 0) await options.writer.cleanup(client, writeName, oldest.value);
  await options.ownership.forgetWrite(client, writeName, oldest.value);
  options.log.info(`removed ${writeName} value of client ${client} written ${Math.round((Date.now() - oldest.writtenAt) / 60_000)} min ago and never cleaned up, to make room under the values cap`);
}

export async function handleHttpreq(action: 'present' | 'cleanup', request: IncomingMessage, rawBody: string, ip: string, options: HttpreqOptions): Promise<HandlerResult> {
  const client = await authorize(request, ip, options.gate);
  if (!isClient(client)) return client;
  const body = parseJsonObject(rawBody);
  if (body === undefined) return { status: 400, body: { error: 'malformed_json_payload' }, client: client.name, name: null };

  const fqdn = stringField(body, 'fqdn');
  const domainField = stringField(body, 'domain');
  const keyAuth = stringField(body, 'keyAuth');
  let domain: string | undefined;
  let value: string;
  let name: string | null;
  let echo: Record<string, string>;
  if (fqdn !== undefined) {
    name = normalizeRecordName(fqdn) ?? null;
    if (name === null) return { status: 400, body: { error: 'bad_fqdn' }, client: client.name, name: null };
    value = stringField(body, 'value') ?? '';
    domain = await domainForRecordName(client, name, (challengeName) => options.writer.target(challengeName));
    echo = { fqdn, value };
  } else if (domainField !== undefined && keyAuth !== undefined) {
    const normalized = normalizeRecordName(domainField.replace(/^\*\./, ''));
    if (normalized === undefined) return { status: 400, body: { error: 'bad_domain' }, client: client.name, name: null };
    name = fulldomainOf(normalized);
    value = txtValueFromKeyAuthorization(keyAuth);
    domain = client.domains.includes(normalized) ? normalized : undefined;
    echo = { domain: domainField, token: stringField(body, 'token') ?? '', keyAuth };
  } else {
    return { status: 400, body: { error: 'missing_fields' }, client: client.name, name: null };
  }
  if (domain === undefined) return { status: 403, body: { error: 'forbidden' }, client: client.name, name, note: 'out_of_scope' };
  // RAW mode computed the digest itself: only the default mode can carry an arbitrary value.
  if (!isAcmeChallengeValue(value)) return { status: 400, body: { error: 'bad_txt', message: ACME_TXT_RULE }, client: client.name, name };
  try {
    validateTxtValue(value);
  } catch {
    return { status: 400, body: { error: 'bad_txt', message: ACME_TXT_RULE }, client: client.name, name };
  }
  const { ownership, writes } = options;
  const writeName = writeNameOf(client, domain);
  if (!writes.begin(client.name)) {
    return { status: 429, body: { error: 'too_many_writes_in_flight', message: 'this client has as many writes in flight as serve allows; wait for them to be answered' }, client: client.name, name, note: 'writes_in_flight', headers: { 'retry-after': '1' } };
  }
  try {
    if (action === 'present') {
      // Claimed before the write, as the journal is: a crash between the two leaves a claim, not an orphan.
      const known = ownership.ownsValue(client.name, writeName, value);
      if (!known && ownership.valuesOwnedBy(client.name, writeName).length >= options.maxValuesPerName) await releaseLeftBehind(client.name, writeName, options);
      if (!known && ownership.valuesOwnedBy(client.name, writeName).length >= options.maxValuesPerName) {
        return { status: 429, body: { error: 'too_many_values', message: `this client already has ${options.maxValuesPerName} values at ${writeName}; clean up the ones it no longer needs` }, client: client.name, name, note: 'values_per_name' };
      }
      await ownership.recordWrite(client.name, writeName, value);
      let outcome;
      try {
        outcome = await options.writer.add(client.name, writeName, value);
      } catch (error) {
        if (!known) await ownership.forgetWrite(client.name, writeName, value);
        throw error;
      }
      options.registry.touch(client);
      return { status: 200, body: echo, client: client.name, name, ...(outcome.propagated ? {} : { note: 'wait_limit' }) };
    }
    // Only what this client wrote through serve: not another system's value, not another client's.
    if (!ownership.ownsValue(client.name, writeName, value)) {
      options.registry.touch(client);
      return { status: 200, body: echo, client: client.name, name, note: 'not_owned' };
    }
    // Another client sharing the domain wrote the same value: it stays for that client.
    if (ownership.otherOwners(client.name, writeName, value).length === 0) await options.writer.cleanup(client.name, writeName, value);
    await ownership.forgetWrite(client.name, writeName, value);
    options.registry.touch(client);
    return { status: 200, body: echo, client: client.name, name };
  } catch (error) {
    logFailure(options.log, `${action} ${name} for client ${client.name}`, error);
    return { status: failureStatus(error), body: failureBody(error), client: client.name, name, note: 'write_failed' };
  } finally {
    writes.end(client.name);
  }
}
