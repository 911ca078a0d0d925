/**
 * The acme-dns protocol (joohoi/acme-dns, as lego's goacmedns, cert-manager, Caddy and acme.sh
 * speak it): `POST /update` with `X-Api-User` / `X-Api-Key` and `{"subdomain", "txt"}` (keys
 * in any case). Refusals look like acme-dns's own (401 `forbidden`, 400 `bad_txt`...), so
 * those clients report them as they would for acme-dns. Keeps the two-slot rule and expiry.
 */
import type { IncomingMessage } from 'node:http';
import { validateTxtValue } from '../challenge/names.js';
import { isAcmeChallengeValue } from './acme-txt.js';
import type { AuthGate } from './auth-gate.js';
import type { InFlightLimit } from './fair-queue.js';
import { refusedAuthentication } from './httpreq.js';
import type { WriteOwnership } from './ownership.js';
import { SerialQueue } from '../util/serial-queue.js';
import type { Logger } from '../util/log.js';
import { AcmeDnsSlots, type SlotEntry } from './acme-dns-slots.js';
import type { AuditSink } from './audit.js';
import { failureBody, failureStatus, logFailure } from './failures.js';
import { parseJsonObject, stringField, type HandlerResult } from './http.js';
import { writeNameOf, type ClientRegistry } from './registry.js';
import { domainBySubdomain, sourceAllowed } from './scope.js';
import type { ChallengeWriter } from './writer.js';

const SUBDOMAIN_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Retry a failed expiry this much later (the box may be down for a while). */
const EXPIRY_RETRY_MS = 30_000;

export interface AcmeDnsOptions {
  readonly stateDir: string;
  readonly registry: ClientRegistry;
  readonly writer: ChallengeWriter;
  readonly audit: AuditSink;
  readonly log: Logger;
  readonly expireAfterMs: number;
  /** Who wrote what: an eviction or expiry never removes a value another client also wrote. */
  readonly ownership: WriteOwnership;
  readonly gate: AuthGate;
  /** Writes in flight per client (429 beyond). */
  readonly writes: InFlightLimit;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export class AcmeDnsService {
  readonly #options: AcmeDnsOptions;
  readonly #slots: AcmeDnsSlots;
  /** Slot bookkeeping (read, evict, save) one request or sweep at a time. */
  readonly #queue = new SerialQueue();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: AcmeDnsOptions) {
    this.#options = options;
    this.#slots = new AcmeDnsSlots(options.stateDir);
  }

  /** Loads the slots and removes what expired while `serve` was not running. */
  async start(): Promise<void> {
    await this.#slots.load();
    await this.#sweep();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#queue.run(async () => undefined);
  }

  async update(request: IncomingMessage, rawBody: string, ip: string): Promise<HandlerResult> {
    const forbidden = (client: string | null, note: string, name: string | null = null): HandlerResult => ({ status: 401, body: { error: 'forbidden' }, client, name, note });
    const user = header(request, 'x-api-user');
    const key = header(request, 'x-api-key');
    if (user === undefined || key === undefined) return forbidden(null, 'no_credentials');
    const outcome = await this.#options.gate.authenticate(ip, user, key);
    if (outcome.kind === 'bad') return forbidden(null, 'bad_credentials');
    if (outcome.kind !== 'ok') return refusedAuthentication(outcome);
    const { client } = outcome;
    if (!sourceAllowed(client, ip)) return forbidden(client.name, 'source_not_allowed');
    const body = parseJsonObject(rawBody);
    if (body === undefined) return { status: 400, body: { error: 'malformed_json_payload' }, client: client.name, name: null };
    const subdomain = stringField(body, 'subdomain');
    const txt = stringField(body, 'txt');
    if (subdomain === undefined || !SUBDOMAIN_PATTERN.test(subdomain)) return { status: 400, body: { error: 'bad_subdomain' }, client: client.name, name: null };
    const domain = domainBySubdomain(client, subdomain.toLowerCase());
    if (domain === undefined) return forbidden(client.name, 'not_own_subdomain');
    const name = writeNameOf(client, domain);
    // acme-dns accepts exactly an ACME digest (43 base64url characters) and nothing else.
    const value = txt ?? '';
    try {
      if (!isAcmeChallengeValue(value)) throw new Error('bad_txt');
      validateTxtValue(value);
    } catch {
      return { status: 400, body: { error: 'bad_txt' }, client: client.name, name };
    }
    const { writer, log, audit, ownership, writes } = this.#options;
    if (!writes.begin(client.name)) return { status: 429, body: { error: 'too_many_writes_in_flight' }, client: client.name, name, note: 'writes_in_flight', headers: { 'retry-after': '1' } };
    const known = ownership.ownsValue(client.name, name, value);
    try {
      await ownership.recordWrite(client.name, name, value);
      let record;
      try {
        record = await writer.write(client.name, name, value);
      } catch (error) {
        if (!known) await ownership.forgetWrite(client.name, name, value);
        throw error;
      }
      // Eviction before the answer: once the client hears 200, at most two values are up.
      await this.#queue.run(async () => {
        const evicted = this.#slots.add({ client: client.name, domain, record, writtenAt: Date.now() });
        try {
          for (const old of evicted) {
            await this.#release(old);
            this.#slots.forget(old);
            audit.write({ client: old.client, ip: null, action: 'evict', name: old.record.requestedName, status: 200 });
          }
        } finally {
          // Saved either way: a value that could not be evicted still expires on time.
          await this.#slots.save();
          this.#schedule();
        }
      });
      const propagated = await writer.waitFor([record]);
      this.#options.registry.touch(client);
      return { status: 200, body: { txt: value }, client: client.name, name, ...(propagated ? {} : { note: 'wait_limit' }) };
    } catch (error) {
      logFailure(log, `update ${name} for client ${client.name}`, error);
      return { status: failureStatus(error), body: failureBody(error), client: client.name, name, note: 'write_failed' };
    } finally {
      writes.end(client.name);
    }
  }

  /** Takes a slot's value off the box, unless another client wrote the same value there too. */
  async #release(entry: SlotEntry): Promise<void> {
    const { writer, ownership } = this.#options;
    const name = entry.record.requestedName;
    if (ownership.otherOwners(entry.client, name, entry.record.value).length === 0) await writer.remove(entry.client, entry.record);
    await ownership.forgetWrite(entry.client, name, entry.record.value);
  }

  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopped) return;
    const next = this.#slots.nextExpiry(this.#options.expireAfterMs);
    if (next === undefined) return;
    const delay = Math.min(Math.max(0, next - Date.now()), 2 ** 31 - 1);
    this.#timer = setTimeout(() => void this.#sweep(), delay);
  }

  /** Removes every value whose time is up; keeps (and retries later) what the box refused. */
  #sweep(): Promise<void> {
    return this.#queue.run(async () => {
      if (this.#stopped) return;
      const { audit, log, expireAfterMs } = this.#options;
      let failed = false;
      const due: SlotEntry[] = this.#slots.expired(Date.now(), expireAfterMs);
      for (const entry of due) {
        try {
          await this.#release(entry);
          this.#slots.forget(entry);
          audit.write({ client: entry.client, ip: null, action: 'expire', name: entry.record.requestedName, status: 200 });
        } catch (error) {
          failed = true;
          logFailure(log, `expiring ${entry.record.fqdn}`, error);
        }
      }
      if (due.length > 0) await this.#slots.save();
      this.#schedule();
      if (failed && this.#timer) {
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => void this.#sweep(), EXPIRY_RETRY_MS);
      }
    });
  }
}
