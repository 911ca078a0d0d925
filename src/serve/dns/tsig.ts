/**
 * TSIG (RFC 8945): the HMAC signature every RFC 2136 client puts on its UPDATE, and that
 * nsupdate and knsupdate require on every reply. dns-packet 5.6 has no TSIG codec at all, and
 * the MAC must cover the exact bytes received (the request up to the TSIG record, with ARCOUNT
 * one less and the original ID), so this is hand-written: reading the TSIG RDATA, verifying a
 * request, and signing a reply (whose MAC also covers the request's MAC). Verified against
 * messages signed by the real nsupdate and knsupdate (tsig-vectors.json).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CLASS, TYPE, WireError, bytes, concat, encodeName, readName, type WireMessage } from './wire.js';

export const TSIG_ALGORITHMS = {
  'hmac-md5': { wireName: 'hmac-md5.sig-alg.reg.int', hash: 'md5', length: 16 },
  'hmac-sha1': { wireName: 'hmac-sha1', hash: 'sha1', length: 20 },
  'hmac-sha224': { wireName: 'hmac-sha224', hash: 'sha224', length: 28 },
  'hmac-sha256': { wireName: 'hmac-sha256', hash: 'sha256', length: 32 },
  'hmac-sha384': { wireName: 'hmac-sha384', hash: 'sha384', length: 48 },
  'hmac-sha512': { wireName: 'hmac-sha512', hash: 'sha512', length: 64 },
} as const;

export type TsigAlgorithm = keyof typeof TSIG_ALGORITHMS;

export const DEFAULT_TSIG_ALGORITHM: TsigAlgorithm = 'hmac-sha256';

/** TSIG error field values (RFC 8945 section 3). */
export const TSIG_ERROR = { NONE: 0, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

export function isTsigAlgorithm(name: string): name is TsigAlgorithm {
  return Object.hasOwn(TSIG_ALGORITHMS, name);
}

/** The algorithm a TSIG record names (case-insensitive; `hmac-md5` alone too), or undefined. */
export function algorithmFromWire(name: string): TsigAlgorithm | undefined {
  const lower = name.toLowerCase().replace(/\.$/, '');
  if (lower === 'hmac-md5') return 'hmac-md5';
  return (Object.keys(TSIG_ALGORITHMS) as TsigAlgorithm[]).find((algorithm) => TSIG_ALGORITHMS[algorithm].wireName === lower);
}

export interface TsigKey {
  /** Lower-case, no trailing dot. */
  readonly name: string;
  readonly algorithm: TsigAlgorithm;
  readonly secret: Buffer;
}

export interface TsigRecord {
  /** Lower-case, no trailing dot. */
  readonly keyName: string;
  /** As the record names it, lower-case. */
  readonly algorithmName: string;
  /** Seconds since the epoch. */
  readonly timeSigned: number;
  readonly fudge: number;
  readonly mac: Buffer;
  readonly originalId: number;
  readonly error: number;
  readonly otherData: Buffer;
  /** Where the TSIG record starts in the message: the MAC covers the bytes before it. */
  readonly start: number;
}

/**
 * The message's TSIG record, or undefined when it has none. Throws WireError when a TSIG is
 * anywhere but last in the additional section, or its RDATA is malformed (FORMERR).
 */
export function readTsig(message: WireMessage): TsigRecord | undefined {
  const sections = [message.answers, message.authorities, message.additionals.slice(0, -1)];
  if (sections.some((records) => records.some((record) => record.type === TYPE.TSIG))) throw new WireError('a TSIG record must be the last record of the message');
  const last = message.additionals.at(-1);
  if (last === undefined || last.type !== TYPE.TSIG) return undefined;
  if (last.klass !== CLASS.ANY || last.ttl !== 0) throw new WireError('TSIG record with a class other than ANY or a TTL other than 0');
  const { rdata } = last;
  const algorithm = readName(rdata, 0);
  let position = algorithm.end;
  const need = (bytes: number): void => {
    if (position + bytes > rdata.length) throw new WireError('TSIG RDATA too short');
  };
  need(10);
  const timeSigned = rdata.readUIntBE(position, 6);
  const fudge = rdata.readUInt16BE(position + 6);
  const macSize = rdata.readUInt16BE(position + 8);
  position += 10;
  need(macSize);
  const mac = rdata.subarray(position, position + macSize);
  position += macSize;
  need(6);
  const originalId = rdata.readUInt16BE(position);
  const error = rdata.readUInt16BE(position + 2);
  const otherLength = rdata.readUInt16BE(position + 4);
  position += 6;
  need(otherLength);
  const otherData = rdata.subarray(position, position + otherLength);
  if (position + otherLength !== rdata.length) throw new WireError('trailing bytes in TSIG RDATA');
  return { keyName: last.name, algorithmName: algorithm.name, timeSigned, fudge, mac, originalId, error, otherData, start: last.start };
}

function uint16(value: number): Buffer {
  const buf = Buffer.alloc(2);
  buf.writeUInt16BE(value);
  return buf;
}

function uint48(value: number): Buffer {
  const buf = Buffer.alloc(6);
  buf.writeUIntBE(value, 0, 6);
  return buf;
}

interface TsigFields {
  readonly keyName: string;
  readonly algorithmName: string;
  readonly timeSigned: number;
  readonly fudge: number;
  readonly error: number;
  readonly otherData: Buffer;
}

/** The "TSIG variables" (RFC 8945 4.3.3) appended to the message before hashing. */
function variables(fields: TsigFields): Buffer {
  return concat([
    encodeName(fields.keyName),
    uint16(CLASS.ANY),
    Buffer.alloc(4),
    encodeName(fields.algorithmName),
    uint48(fields.timeSigned),
    uint16(fields.fudge),
    uint16(fields.error),
    uint16(fields.otherData.length),
    fields.otherData,
  ]);
}

/** The request's bytes before its TSIG record, with ARCOUNT one less and the original ID. */
function unsignedBytes(raw: Buffer, tsigStart: number, originalId: number): Buffer {
  const copy = Buffer.from(bytes(raw.subarray(0, tsigStart)));
  copy.writeUInt16BE(originalId, 0);
  copy.writeUInt16BE(copy.readUInt16BE(10) - 1, 10);
  return copy;
}

function hmac(key: TsigKey, parts: readonly Buffer[]): Buffer {
  const mac = createHmac(TSIG_ALGORITHMS[key.algorithm].hash, bytes(key.secret));
  for (const part of parts) mac.update(bytes(part));
  return mac.digest();
}

export type TsigVerdict = 'ok' | 'BADKEY' | 'BADSIG' | 'BADTIME';

/**
 * Checks a signed request in RFC 8945's order: the key (and its algorithm), the MAC, then the
 * time. `key` is the registered key of that name, if any. A MAC may be truncated to no less
 * than half its length (and 10 bytes); shorter is BADSIG.
 */
export function verifyRequest(message: WireMessage, tsig: TsigRecord, key: TsigKey | undefined, nowSeconds: number): TsigVerdict {
  if (key === undefined || algorithmFromWire(tsig.algorithmName) !== key.algorithm) return 'BADKEY';
  const full = TSIG_ALGORITHMS[key.algorithm].length;
  if (tsig.mac.length > full || tsig.mac.length < Math.max(10, Math.ceil(full / 2))) return 'BADSIG';
  const expected = hmac(key, [unsignedBytes(message.raw, tsig.start, tsig.originalId), variables(tsig)]).subarray(0, tsig.mac.length);
  if (!timingSafeEqual(bytes(expected), bytes(tsig.mac))) return 'BADSIG';
  if (Math.abs(nowSeconds - tsig.timeSigned) > tsig.fudge) return 'BADTIME';
  return 'ok';
}

function tsigRecord(fields: TsigFields & { readonly mac: Buffer; readonly originalId: number }): Buffer {
  const rdata = concat([
    encodeName(fields.algorithmName),
    uint48(fields.timeSigned),
    uint16(fields.fudge),
    uint16(fields.mac.length),
    fields.mac,
    uint16(fields.originalId),
    uint16(fields.error),
    uint16(fields.otherData.length),
    fields.otherData,
  ]);
  const head = Buffer.alloc(10);
  head.writeUInt16BE(TYPE.TSIG, 0);
  head.writeUInt16BE(CLASS.ANY, 2);
  head.writeUInt32BE(0, 4);
  head.writeUInt16BE(rdata.length, 8);
  return concat([encodeName(fields.keyName), head, rdata]);
}

function withRecord(reply: Buffer, record: Buffer): Buffer {
  const out = concat([reply, record]);
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  return out;
}

export interface SignOptions {
  /** The request's TSIG (key name, algorithm name as sent, original ID, fudge). */
  readonly request: TsigRecord;
  readonly nowSeconds: number;
}

/**
 * Signs a reply to a request whose MAC verified (or that got BADTIME): the MAC covers the
 * request's MAC, the reply and the TSIG variables. BADTIME replies carry the request's time
 * and the server's in Other Data, as RFC 8945 5.2.3 asks, so the client can see the skew.
 */
export function signReply(reply: Buffer, key: TsigKey, options: SignOptions & { readonly error?: 'BADTIME' }): Buffer {
  const badTime = options.error === 'BADTIME';
  const fields: TsigFields = {
    keyName: options.request.keyName,
    algorithmName: TSIG_ALGORITHMS[key.algorithm].wireName,
    timeSigned: badTime ? options.request.timeSigned : options.nowSeconds,
    fudge: options.request.fudge,
    error: badTime ? TSIG_ERROR.BADTIME : TSIG_ERROR.NONE,
    otherData: badTime ? uint48(options.nowSeconds) : Buffer.alloc(0),
  };
  const mac = hmac(key, [uint16(options.request.mac.length), options.request.mac, reply, variables(fields)]);
  return withRecord(reply, tsigRecord({ ...fields, mac, originalId: options.request.originalId }));
}

/**
 * An unsigned TSIG for a BADKEY or BADSIG reply (RFC 8945 5.3.2: MAC size 0, since the
 * server cannot or must not sign with that key). The reply's rcode is NOTAUTH.
 */
export function unsignedErrorReply(reply: Buffer, options: SignOptions & { readonly error: 'BADKEY' | 'BADSIG' }): Buffer {
  const { request } = options;
  return withRecord(
    reply,
    tsigRecord({
      keyName: request.keyName,
      algorithmName: request.algorithmName,
      timeSigned: options.nowSeconds,
      fudge: request.fudge,
      error: TSIG_ERROR[options.error],
      otherData: Buffer.alloc(0),
      mac: Buffer.alloc(0),
      originalId: request.originalId,
    }),
  );
}

/** Signs a request (tests and the bench play clients with it). */
export function signRequest(message: Buffer, key: TsigKey, options: { readonly nowSeconds: number; readonly fudge?: number; readonly algorithmName?: string }): { message: Buffer; mac: Buffer } {
  const fields: TsigFields = {
    keyName: key.name,
    algorithmName: options.algorithmName ?? TSIG_ALGORITHMS[key.algorithm].wireName,
    timeSigned: options.nowSeconds,
    fudge: options.fudge ?? 300,
    error: 0,
    otherData: Buffer.alloc(0),
  };
  const mac = hmac(key, [message, variables(fields)]);
  return { message: withRecord(message, tsigRecord({ ...fields, mac, originalId: message.readUInt16BE(0) })), mac };
}

/** Verifies a signed reply against the request's MAC (tests and the bench check replies with it). */
export function verifyReply(reply: Buffer, tsig: TsigRecord, key: TsigKey, requestMac: Buffer): boolean {
  const expected = hmac(key, [uint16(requestMac.length), requestMac, unsignedBytes(reply, tsig.start, tsig.originalId), variables(tsig)]);
  return tsig.mac.length === expected.length && timingSafeEqual(bytes(expected), bytes(tsig.mac));
}
