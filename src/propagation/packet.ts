/**
 * DNS messages: building queries and accepting only replies to them. Pure (no I/O), so the
 * checks that keep a stray or spoofed datagram from counting as an answer are unit-tested.
 */
import { randomInt } from 'node:crypto';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, RecordType } from 'dns-packet';

/** The EDNS0 UDP payload we advertise: large enough for a few dozen challenge values. */
export const EDNS_UDP_PAYLOAD = 4096;

export interface QuestionSpec {
  /** Owner name, no trailing dot. */
  readonly name: string;
  readonly type: RecordType;
}

export interface QuerySpec extends QuestionSpec {
  readonly id: number;
  /** RD flag: set for recursive resolvers, clear for authoritative servers. */
  readonly recursionDesired: boolean;
  /** Add an OPT record advertising {@link EDNS_UDP_PAYLOAD}. */
  readonly edns: boolean;
}

/** A reply that passed {@link decodeResponse}'s checks. */
export interface DnsResponse {
  readonly id: number;
  /** `NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`, ... (EDNS extended codes included). */
  readonly rcode: string;
  /** AA: the server answered from a zone it serves. */
  readonly authoritative: boolean;
  /** TC: the answer did not fit; ask again over TCP. */
  readonly truncated: boolean;
  readonly answers: readonly Answer[];
  readonly authorities: readonly Answer[];
  readonly additionals: readonly Answer[];
}

/** A random 16-bit query ID, from the CSPRNG: predictable IDs make spoofing easy. */
export function newQueryId(): number {
  return randomInt(0, 0x10000);
}

export function encodeQuery(query: QuerySpec): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: query.id,
    flags: query.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ name: query.name, type: query.type, class: 'IN' }],
    additionals: query.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  });
}

/** Why a datagram is not a reply to our query. */
export class ResponseMismatch extends Error {
  override readonly name = 'ResponseMismatch';
}

const RCODE_NAMES: readonly string[] = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const EXTENDED_RCODE_NAMES: Readonly<Record<number, string>> = { 16: 'BADVERS' };

export function rcodeName(code: number): string {
  return RCODE_NAMES[code] ?? EXTENDED_RCODE_NAMES[code] ?? `RCODE${code}`;
}

/** Compares domain names the way DNS does: ASCII case-insensitively, trailing dot ignored. */
export function sameName(a: string, b: string): boolean {
  return a.replace(/\.$/, '').toLowerCase() === b.replace(/\.$/, '').toLowerCase();
}

/**
 * Decodes `message` and checks that it answers `query`: QR set, same ID, standard query
 * opcode, exactly our question (name case-insensitively, type, class IN). Throws
 * {@link ResponseMismatch} otherwise, so that a late reply to an earlier query or a forged
 * datagram is ignored rather than believed.
 */
export function decodeResponse(message: Buffer, query: QuerySpec): DnsResponse {
  let packet: DecodedPacket;
  try {
    packet = dnsPacket.decode(message);
  } catch (error) {
    throw new ResponseMismatch(`undecodable reply: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!packet.flag_qr) throw new ResponseMismatch('not a response (QR flag clear)');
  if (packet.id !== query.id) throw new ResponseMismatch(`ID ${String(packet.id)} instead of ${query.id}`);
  // dns-packet's types omit the decoded opcode; the header's bits 11-14 hold it.
  const opcode = (message.readUInt16BE(2) >> 11) & 0xf;
  if (opcode !== 0) throw new ResponseMismatch(`opcode ${opcode} instead of QUERY`);
  const questions = packet.questions ?? [];
  const question = questions[0];
  if (questions.length !== 1 || question === undefined) throw new ResponseMismatch(`${questions.length} questions instead of 1`);
  if (!sameName(question.name, query.name)) throw new ResponseMismatch(`question for ${question.name} instead of ${query.name}`);
  if (question.type !== query.type) throw new ResponseMismatch(`question type ${question.type} instead of ${query.type}`);
  if ((question.class ?? 'IN') !== 'IN') throw new ResponseMismatch(`question class ${question.class ?? '?'} instead of IN`);

  const additionals = packet.additionals ?? [];
  // The header holds the low 4 bits of the rcode; with EDNS, the OPT record holds the rest
  // (dns-packet's types lack the decoded rcode, so read it from the header directly).
  let rcode = message.readUInt16BE(2) & 0xf;
  const opt = additionals.find((record) => record.type === 'OPT');
  if (opt && opt.type === 'OPT' && opt.extendedRcode) rcode |= opt.extendedRcode << 4;
  return {
    id: query.id,
    rcode: rcodeName(rcode),
    authoritative: packet.flag_aa,
    truncated: packet.flag_tc,
    answers: packet.answers ?? [],
    authorities: packet.authorities ?? [],
    additionals: additionals.filter((record) => record.type !== 'OPT'),
  };
}

/**
 * The names a lookup of `name` ends up at: `name` itself, then each CNAME target the
 * answer section chains to (at most 8 hops, to survive a loop).
 */
export function cnameChain(answers: readonly Answer[], name: string): string[] {
  const chain = [name];
  for (let hop = 0; hop < 8; hop++) {
    const current = chain[chain.length - 1] ?? name;
    const alias = answers.find((record) => record.type === 'CNAME' && sameName(record.name, current));
    if (!alias || alias.type !== 'CNAME' || chain.some((seen) => sameName(seen, alias.data))) break;
    chain.push(alias.data);
  }
  return chain;
}

/**
 * Each TXT record at `name` as one string: a record's character-strings concatenated, as
 * ACME servers read them (values over 255 bytes are stored as several strings).
 */
export function txtValues(answers: readonly Answer[], name: string): string[] {
  const values: string[] = [];
  for (const record of answers) {
    if (record.type !== 'TXT' || !sameName(record.name, name)) continue;
    const parts = Array.isArray(record.data) ? record.data : [record.data];
    values.push(parts.map((part) => (typeof part === 'string' ? part : part.toString('utf8'))).join(''));
  }
  return values;
}

/** Addresses (`A`/`AAAA`) or names (`NS`) of the given type owned by any name in `owners`. */
export function stringRecords(answers: readonly Answer[], owners: readonly string[], type: 'A' | 'AAAA' | 'NS'): string[] {
  const found: string[] = [];
  for (const record of answers) {
    if (record.type === type && owners.some((owner) => sameName(owner, record.name))) found.push(record.data);
  }
  return found;
}
