/**
 * One RFC 2136 UPDATE from an authenticated client, all or nothing: the zone section must name
 * a box zone, every prerequisite and every update record must concern the client's own
 * challenge names (TXT only, ACME-shaped values), and only then is anything written. Deletes
 * never touch a value the client did not write through serve: class NONE removes that value,
 * class ANY (the RRset, as lego and acme.sh send) and type ANY remove the values this client
 * wrote at that name, so a partner value at the name survives.
 *
 * A and AAAA at the client's `--ddns-host` names follow dyndns's rule: the host belongs to the
 * client and holds one address per family. The update section is replayed over the box's
 * addresses; the address left (the last one added when several are) replaces the old one.
 * The box's store has no "remove an address": a message that would leave none is refused.
 */
import type { ChallengeRecord } from '../../challenge/engine.js';
import { canListTxt, type TxtRecordStore } from '../../records/store.js';
import type { AddressRecordStore, AddressRecordType } from '../../providers/provider.js';
import type { Logger } from '../../util/log.js';
import { SerialQueue } from '../../util/serial-queue.js';
import { isAcmeChallengeValue } from '../acme-txt.js';
import { logFailure } from '../failures.js';
import type { WriteOwnership } from '../ownership.js';
import { writeNameOf, type ServeClient } from '../registry.js';
import { domainForRecordName } from '../scope.js';
import type { ChallengeWriter } from '../writer.js';
import type { InFlightLimit } from '../fair-queue.js';
import { canonicalAddress, canonicalAddresses } from '../dyndns.js';
import { CLASS, RCODE, TYPE, WireError, txtValue, type WireMessage, type WireRecord } from './wire.js';

/** What the UPDATE logic needs from the rest of serve. */
export interface UpdateContext {
  readonly writer: ChallengeWriter;
  readonly ownership: WriteOwnership;
  /** Writes in flight per client (shared with the HTTP protocols). */
  readonly writes: InFlightLimit;
  /** Live values one client may hold at one name. */
  readonly maxValuesPerName: number;
  /** The box's zones and TXT values (prerequisites are evaluated against the box). */
  readonly records: Pick<TxtRecordStore, 'zones' | 'txtValues'>;
  /** The provider's A/AAAA store (`--ddns-host` names); undefined: address updates are refused. */
  readonly addresses?: AddressRecordStore;
  readonly log: Logger;
}

export interface UpdateResult {
  readonly rcode: number;
  /** The record names the message touched (normalized), for the audit line. */
  readonly names: readonly string[];
  /** A short machine word for refusals (`out_of_scope`, `bad_txt`, `write_failed`, ...). */
  readonly note?: string;
  /** Values written: the answer waits until the nameservers serve them. */
  readonly added: readonly ChallengeRecord[];
}

/** Meta types that may not appear in an update record (RFC 2136 3.4.1.2). */
const META_TYPES = new Set([251, 252, 253, 254, TYPE.ANY]);

interface Scoped {
  readonly record: WireRecord;
  /** `writeNameOf(client, domain)`: the name serve writes and ownership is kept under. */
  readonly writeName: string;
}

/** An update record at one of the client's `--ddns-host` names. */
interface AddressUpdate {
  readonly record: WireRecord;
  readonly host: string;
}

/** The address in an A / AAAA RDATA, canonical (IPv6 as RFC 5952), or a FORMERR. */
function addressOf(record: WireRecord): string {
  const { rdata } = record;
  if (record.type === TYPE.A && rdata.length === 4) return [...rdata].join('.');
  if (record.type === TYPE.AAAA && rdata.length === 16) {
    const groups = Array.from({ length: 8 }, (_, index) => rdata.readUInt16BE(index * 2).toString(16));
    const canonical = canonicalAddress(groups.join(':'));
    if (canonical !== undefined) return canonical.address;
  }
  throw new WireError('bad address RDATA');
}

function isAddressType(type: number): boolean {
  return type === TYPE.A || type === TYPE.AAAA;
}

class Refusal {
  constructor(
    readonly rcode: number,
    readonly note: string,
  ) {}
}

function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

function refuse(rcode: number, note: string): never {
  throw new Refusal(rcode, note);
}

export class UpdateHandler {
  readonly #context: UpdateContext;
  /**
   * One client's messages run one at a time (its ownership decisions and the writes they lead
   * to); different clients run side by side, and the writer orders their box writes fairly.
   */
  readonly #queues = new Map<string, { queue: SerialQueue; pending: number }>();

  constructor(context: UpdateContext) {
    this.#context = context;
  }

  async handle(message: WireMessage, client: ServeClient): Promise<UpdateResult> {
    const names = [...new Set([...message.answers, ...message.authorities].map((record) => record.name))];
    try {
      const zone = await this.#zoneOf(message);
      for (const record of message.authorities) checkUpdateRecord(record);
      const hosts = new Set(client.ddnsHosts ?? []);
      const atHost = (record: WireRecord): boolean => hosts.has(record.name) && (isAddressType(record.type) || (record.type === TYPE.ANY && record.klass === CLASS.ANY));
      const addressUpdates: AddressUpdate[] = message.authorities.filter(atHost).map((record) => ({ record, host: record.name }));
      for (const { record } of addressUpdates) {
        if (!inZone(record.name, zone)) refuse(RCODE.NOTZONE, 'not_in_zone');
        if (record.klass !== CLASS.ANY) addressOf(record);
      }
      const updates = await this.#scope(client, zone, message.authorities.filter((record) => !atHost(record)), 'update');
      if (message.answers.some((record) => hosts.has(record.name))) refuse(RCODE.REFUSED, 'prerequisite_unsupported');
      const prerequisites = await this.#scope(client, zone, message.answers, 'prerequisite');
      if (addressUpdates.length > 0 && this.#context.addresses === undefined) refuse(RCODE.REFUSED, 'addresses_unsupported');
      if (!this.#context.writes.begin(client.name)) refuse(RCODE.REFUSED, 'writes_in_flight');
      try {
        return await this.#inTurn(client.name, async () => {
          await this.#checkPrerequisites(prerequisites);
          const addressPlan = await this.#planAddresses(client, addressUpdates);
          const added = await this.#apply(client, updates);
          await this.#applyAddresses(client, addressPlan);
          return { rcode: RCODE.NOERROR, names, added };
        });
      } finally {
        this.#context.writes.end(client.name);
      }
    } catch (error) {
      if (error instanceof Refusal) return { rcode: error.rcode, names, note: error.note, added: [] };
      if (error instanceof WireError) return { rcode: RCODE.FORMERR, names, note: 'malformed', added: [] };
      logFailure(this.#context.log, `RFC 2136 update of ${names.join(', ')} for client ${client.name}`, error);
      return { rcode: RCODE.SERVFAIL, names, note: 'write_failed', added: [] };
    }
  }

  async #inTurn<T>(client: string, task: () => Promise<T>): Promise<T> {
    let entry = this.#queues.get(client);
    if (entry === undefined) this.#queues.set(client, (entry = { queue: new SerialQueue(), pending: 0 }));
    entry.pending++;
    try {
      return await entry.queue.run(task);
    } finally {
      if (--entry.pending === 0) this.#queues.delete(client);
    }
  }

  /** The zone section: one SOA entry of class IN naming a box zone. */
  async #zoneOf(message: WireMessage): Promise<string> {
    const [zone, extra] = message.questions;
    if (zone === undefined || extra !== undefined || zone.type !== TYPE.SOA) refuse(RCODE.FORMERR, 'bad_zone_section');
    if (zone.klass !== CLASS.IN) refuse(RCODE.NOTAUTH, 'not_a_box_zone');
    const zones = await this.#context.records.zones();
    if (!zones.includes(zone.name)) refuse(RCODE.NOTAUTH, 'not_a_box_zone');
    return zone.name;
  }

  /**
   * Every record must be inside the zone (NOTZONE), TXT (or ANY, to delete) at one of the
   * client's challenge names or their CNAME targets, else the whole message is REFUSED.
   */
  async #scope(client: ServeClient, zone: string, records: readonly WireRecord[], section: 'update' | 'prerequisite'): Promise<Scoped[]> {
    const scoped: Scoped[] = [];
    for (const record of records) {
      if (!inZone(record.name, zone)) refuse(RCODE.NOTZONE, 'not_in_zone');
      const anyType = record.type === TYPE.ANY && record.klass !== CLASS.IN;
      if (record.type !== TYPE.TXT && !anyType) refuse(RCODE.REFUSED, 'out_of_scope');
      const domain = await domainForRecordName(client, record.name, (name) => this.#context.writer.target(name));
      if (domain === undefined) refuse(RCODE.REFUSED, 'out_of_scope');
      if (section === 'update' && record.klass !== CLASS.ANY && record.type === TYPE.TXT && !isAcmeChallengeValue(txtValue(record.rdata))) refuse(RCODE.REFUSED, 'bad_txt');
      scoped.push({ record, writeName: writeNameOf(client, domain) });
    }
    return scoped;
  }

  /**
   * What each host's A / AAAA becomes: the box's addresses (fresh) with the update section
   * replayed over them. Refused before anything is written when a family would be left empty
   * or the host is a CNAME (an address beside it makes the nameserver drop the zone).
   */
  async #planAddresses(client: ServeClient, updates: readonly AddressUpdate[]): Promise<{ host: string; family: AddressRecordType; address: string }[]> {
    const store = this.#context.addresses;
    if (store === undefined || updates.length === 0) return [];
    const plan: { host: string; family: AddressRecordType; address: string }[] = [];
    for (const host of new Set(updates.map((update) => update.host))) {
      const current = await store.read(host);
      if (current.cname !== undefined) refuse(RCODE.REFUSED, 'cname_at_host');
      const state = new Map<AddressRecordType, string[]>([
        ['A', canonicalAddresses(current.a)],
        ['AAAA', canonicalAddresses(current.aaaa)],
      ]);
      const before = new Map([...state].map(([family, values]) => [family, [...values]]));
      for (const { record } of updates.filter((update) => update.host === host)) {
        const families: AddressRecordType[] = record.type === TYPE.ANY ? ['A', 'AAAA'] : [record.type === TYPE.A ? 'A' : 'AAAA'];
        for (const family of families) {
          const values = state.get(family) ?? [];
          if (record.klass === CLASS.ANY) state.set(family, []);
          else if (record.klass === CLASS.NONE) state.set(family, values.filter((value) => value !== addressOf(record)));
          else state.set(family, [...values.filter((value) => value !== addressOf(record)), addressOf(record)]);
        }
      }
      for (const [family, values] of state) {
        const old = before.get(family) ?? [];
        if (values.length === old.length && values.every((value, index) => value === old[index])) continue;
        const address = values.at(-1);
        if (address === undefined) refuse(RCODE.REFUSED, 'address_delete_unsupported');
        if (old.length === 1 && old[0] === address) continue;
        plan.push({ host, family, address });
      }
    }
    this.#context.log.debug(`RFC 2136 address plan of client ${client.name}: ${plan.map((step) => `${step.family} ${step.host} ${step.address}`).join(', ') || 'nothing to change'}`);
    return plan;
  }

  async #applyAddresses(client: ServeClient, plan: readonly { host: string; family: AddressRecordType; address: string }[]): Promise<void> {
    const store = this.#context.addresses;
    if (store === undefined) return;
    for (const { host, family, address } of plan) {
      await this.#context.writer.serialized(client.name, () => store.replace(host, family, address));
      this.#context.log.info(`RFC 2136: ${family} ${host} = ${address} for client ${client.name}`);
    }
  }

  /** RFC 2136 3.2, evaluated against the box (where the values live, whoever wrote them). */
  async #checkPrerequisites(prerequisites: readonly Scoped[]): Promise<void> {
    const valuesAt = async (writeName: string): Promise<string[]> => {
      const { records } = this.#context;
      // A store that cannot list values (store.ts): a prerequisite on them cannot be verified.
      if (!canListTxt(records)) refuse(RCODE.NOTIMP, 'cannot_verify');
      return records.txtValues(await this.#context.writer.target(writeName));
    };
    const expected = new Map<string, Set<string>>();
    for (const { record, writeName } of prerequisites) {
      if (record.ttl !== 0) refuse(RCODE.FORMERR, 'bad_prerequisite');
      if (record.klass === CLASS.IN) {
        const set = expected.get(writeName) ?? new Set<string>();
        set.add(txtValue(record.rdata));
        expected.set(writeName, set);
        continue;
      }
      if (record.rdata.length !== 0 || (record.klass !== CLASS.ANY && record.klass !== CLASS.NONE)) refuse(RCODE.FORMERR, 'bad_prerequisite');
      const present = (await valuesAt(writeName)).length > 0;
      // Only TXT is ever in scope, so "name in use" and "TXT RRset exists" agree.
      if (record.klass === CLASS.ANY && !present) refuse(record.type === TYPE.ANY ? RCODE.NXDOMAIN : RCODE.NXRRSET, 'prerequisite_failed');
      if (record.klass === CLASS.NONE && present) refuse(record.type === TYPE.ANY ? RCODE.YXDOMAIN : RCODE.YXRRSET, 'prerequisite_failed');
    }
    for (const [writeName, values] of expected) {
      const actual = new Set(await valuesAt(writeName));
      if (actual.size !== values.size || [...values].some((value) => !actual.has(value))) refuse(RCODE.NXRRSET, 'prerequisite_failed');
    }
  }

  /**
   * Replays the update section over the values this client owns at each name, then writes the
   * difference: additions first (a failed one takes back the others: nothing changed), then
   * removals. A value another client also owns stays on the box.
   */
  async #apply(client: ServeClient, updates: readonly Scoped[]): Promise<ChallengeRecord[]> {
    const { ownership, writer } = this.#context;
    const initial = new Map<string, Set<string>>();
    const final = new Map<string, Set<string>>();
    for (const { record, writeName } of updates) {
      if (!initial.has(writeName)) {
        const owned = ownership.valuesOwnedBy(client.name, writeName);
        initial.set(writeName, new Set(owned));
        final.set(writeName, new Set(owned));
      }
      const state = final.get(writeName) ?? new Set<string>();
      if (record.klass === CLASS.IN) state.add(txtValue(record.rdata));
      else if (record.klass === CLASS.NONE) state.delete(txtValue(record.rdata));
      else state.clear();
    }
    for (const values of final.values()) if (values.size > this.#context.maxValuesPerName) refuse(RCODE.REFUSED, 'values_per_name');
    const added: { writeName: string; record?: ChallengeRecord; value: string }[] = [];
    try {
      for (const [writeName, values] of final) {
        for (const value of values) {
          if (initial.get(writeName)?.has(value) === true) continue;
          // Claimed before the write, as the journal is: a crash between the two leaves a claim, not an orphan.
          const entry: { writeName: string; record?: ChallengeRecord; value: string } = { writeName, value };
          added.push(entry);
          await ownership.recordWrite(client.name, writeName, value);
          entry.record = await writer.write(client.name, writeName, value);
        }
      }
    } catch (error) {
      for (const { writeName, record, value } of added.reverse()) {
        if (record !== undefined) await writer.remove(client.name, record).catch((undoError: unknown) => logFailure(this.#context.log, `taking back ${record.fqdn} after a failed update`, undoError));
        await ownership.forgetWrite(client.name, writeName, value);
      }
      throw error;
    }
    for (const [writeName, values] of initial) {
      for (const value of values) {
        if (final.get(writeName)?.has(value) === true) continue;
        // Another client sharing the domain wrote the same value: it stays for that client.
        if (ownership.otherOwners(client.name, writeName, value).length === 0) await writer.cleanup(client.name, writeName, value);
        await ownership.forgetWrite(client.name, writeName, value);
      }
    }
    return added.flatMap(({ record }) => (record === undefined ? [] : [record]));
  }
}

/** RFC 2136 3.4.1.2 prescan of one update record. */
function checkUpdateRecord(record: WireRecord): void {
  if (record.klass === CLASS.IN) {
    if (META_TYPES.has(record.type)) refuse(RCODE.FORMERR, 'malformed');
    return;
  }
  if (record.klass === CLASS.ANY) {
    if (record.ttl !== 0 || record.rdata.length !== 0) refuse(RCODE.FORMERR, 'malformed');
    return;
  }
  if (record.klass === CLASS.NONE) {
    if (record.ttl !== 0 || META_TYPES.has(record.type)) refuse(RCODE.FORMERR, 'malformed');
    return;
  }
  refuse(RCODE.FORMERR, 'malformed');
}
