/**
 * The smallest DNS wire reader and reply builder `serve`'s RFC 2136 front-end needs, beside
 * dns-packet. dns-packet 5.6 decodes a message into objects but loses what this front-end
 * depends on: the byte offsets of each record (the TSIG MAC covers the exact bytes received,
 * up to the TSIG record), class NONE (254, "delete this value" in an UPDATE, RFC 2136 2.5.4),
 * and zero-length RDATA (class ANY deletes: dns-packet's A/AAAA decoders read 4/16 bytes anyway
 * and misparse the rest of the message). So records are read here as raw RDATA with their
 * offsets; dns-packet still encodes the SOA records of replies.
 */
import * as dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28, OPT: 41, TSIG: 250, ANY: 255 } as const;
export const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
export const OPCODE = { QUERY: 0, UPDATE: 5 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10 } as const;

/** A malformed message: answered FORMERR (when a header could be read) or dropped. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

export interface WireQuestion {
  /** Lower-case, no trailing dot ('' for the root). */
  readonly name: string;
  readonly type: number;
  readonly klass: number;
}

export interface WireRecord extends WireQuestion {
  readonly ttl: number;
  readonly rdata: Buffer;
  /** Offset of the record's first byte (its owner name) in the message. */
  readonly start: number;
}

export interface WireMessage {
  readonly raw: Buffer;
  readonly id: number;
  readonly qr: boolean;
  readonly opcode: number;
  readonly rd: boolean;
  /** Four-bit header rcode. */
  readonly rcode: number;
  /** For UPDATE: the zone section. */
  readonly questions: readonly WireQuestion[];
  /** The raw bytes of the question (zone) section, echoed in replies. */
  readonly questionBytes: Buffer;
  /** For UPDATE: the prerequisite section. */
  readonly answers: readonly WireRecord[];
  /** For UPDATE: the update section. */
  readonly authorities: readonly WireRecord[];
  readonly additionals: readonly WireRecord[];
}

const MAX_POINTER_JUMPS = 64;

/** Reads a (possibly compressed) name at `offset`; returns it lower-cased and where it ends. */
export function readName(buf: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let position = offset;
  let end: number | undefined;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (position >= buf.length) throw new WireError('name runs past the end of the message');
    const byte = buf[position] ?? 0;
    if ((byte & 0xc0) === 0xc0) {
      if (position + 1 >= buf.length) throw new WireError('truncated compression pointer');
      if (++jumps > MAX_POINTER_JUMPS) throw new WireError('compression pointer loop');
      end ??= position + 2;
      position = ((byte & 0x3f) << 8) | (buf[position + 1] ?? 0);
      continue;
    }
    if ((byte & 0xc0) !== 0) throw new WireError('unsupported label type');
    if (byte === 0) {
      end ??= position + 1;
      break;
    }
    if (position + 1 + byte > buf.length) throw new WireError('label runs past the end of the message');
    length += byte + 1;
    if (length > 255) throw new WireError('name longer than 255 octets');
    labels.push(buf.toString('latin1', position + 1, position + 1 + byte).toLowerCase());
    position += 1 + byte;
  }
  return { name: labels.join('.'), end };
}

/** A name in wire form, uncompressed, lower-case (the canonical form TSIG digests use). */
export function encodeName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, '');
  const parts = trimmed === '' ? [] : trimmed.split('.');
  const chunks: Buffer[] = [];
  for (const label of parts) {
    const bytes = Buffer.from(label.toLowerCase(), 'latin1');
    if (bytes.length === 0 || bytes.length > 63) throw new WireError(`bad label in ${JSON.stringify(name)}`);
    chunks.push(Buffer.from([bytes.length]), bytes);
  }
  chunks.push(Buffer.from([0]));
  return concat(chunks);
}

function readRecords(buf: Buffer, offset: number, count: number): { records: WireRecord[]; end: number } {
  const records: WireRecord[] = [];
  let position = offset;
  for (let index = 0; index < count; index++) {
    const start = position;
    const { name, end } = readName(buf, position);
    if (end + 10 > buf.length) throw new WireError('record header runs past the end of the message');
    const type = buf.readUInt16BE(end);
    const klass = buf.readUInt16BE(end + 2);
    const ttl = buf.readUInt32BE(end + 4);
    const rdlength = buf.readUInt16BE(end + 8);
    const rdataStart = end + 10;
    if (rdataStart + rdlength > buf.length) throw new WireError('RDATA runs past the end of the message');
    records.push({ name, type, klass, ttl, rdata: buf.subarray(rdataStart, rdataStart + rdlength), start });
    position = rdataStart + rdlength;
  }
  return { records, end: position };
}

/** Parses a whole message; throws WireError when it is malformed or has trailing bytes. */
export function parseMessage(raw: Buffer): WireMessage {
  if (raw.length < 12) throw new WireError('shorter than a DNS header');
  const id = raw.readUInt16BE(0);
  const flags = raw.readUInt16BE(2);
  const counts = [raw.readUInt16BE(4), raw.readUInt16BE(6), raw.readUInt16BE(8), raw.readUInt16BE(10)] as const;
  const questions: WireQuestion[] = [];
  let position = 12;
  for (let index = 0; index < counts[0]; index++) {
    const { name, end } = readName(raw, position);
    if (end + 4 > raw.length) throw new WireError('question runs past the end of the message');
    questions.push({ name, type: raw.readUInt16BE(end), klass: raw.readUInt16BE(end + 2) });
    position = end + 4;
  }
  const questionBytes = raw.subarray(12, position);
  const answers = readRecords(raw, position, counts[1]);
  const authorities = readRecords(raw, answers.end, counts[2]);
  const additionals = readRecords(raw, authorities.end, counts[3]);
  if (additionals.end !== raw.length) throw new WireError('trailing bytes after the last record');
  return {
    raw,
    id,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rd: (flags & 0x0100) !== 0,
    rcode: flags & 0xf,
    questions,
    questionBytes,
    answers: answers.records,
    authorities: authorities.records,
    additionals: additionals.records,
  };
}

/** The strings of a TXT RDATA, joined (ACME values are one string; long values span several). */
export function txtValue(rdata: Buffer): string {
  const parts: string[] = [];
  let position = 0;
  while (position < rdata.length) {
    const length = rdata[position] ?? 0;
    if (position + 1 + length > rdata.length) throw new WireError('TXT string runs past its RDATA');
    parts.push(rdata.toString('utf8', position + 1, position + 1 + length));
    position += 1 + length;
  }
  return parts.join('');
}

export interface ReplyOptions {
  readonly request: Pick<WireMessage, 'id' | 'opcode' | 'rd' | 'questionBytes' | 'questions'>;
  readonly rcode: number;
  /** AA flag: set on answers from a box zone. */
  readonly authoritative?: boolean;
  readonly answers?: readonly Answer[];
  readonly authorities?: readonly Answer[];
}

/**
 * A reply without TSIG: the request's ID, opcode and RD, its question (zone) section echoed
 * byte for byte (so a compressed name in it stays valid: it starts at the same offset), then
 * the records dns-packet encodes. Sign it with `signReply` when the request was signed.
 */
export function buildReply(options: ReplyOptions): Buffer {
  const answers = options.answers ?? [];
  const authorities = options.authorities ?? [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(options.request.id, 0);
  const flags = 0x8000 | ((options.request.opcode & 0xf) << 11) | (options.authoritative ? 0x0400 : 0) | (options.request.rd ? 0x0100 : 0) | (options.rcode & 0xf);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(options.request.questions.length, 4);
  header.writeUInt16BE(answers.length, 6);
  header.writeUInt16BE(authorities.length, 8);
  header.writeUInt16BE(0, 10);
  // dns-packet does not compress: the records' bytes are position-independent.
  const records = answers.length + authorities.length === 0 ? Buffer.alloc(0) : dnsPacket.encode({ type: 'response', answers: [...answers], authorities: [...authorities] }).subarray(12);
  return concat([header, options.request.questionBytes, records]);
}

/**
 * A plain view of a Buffer's bytes: @types/node 20's Buffer is not assignable to the generic
 * Uint8Array of TypeScript 5.9's lib, which node:crypto, node:dgram and node:net expect.
 */
export function bytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export function concat(parts: readonly Buffer[]): Buffer {
  return Buffer.concat(parts.map(bytes));
}
