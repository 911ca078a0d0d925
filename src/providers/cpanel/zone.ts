/**
 * Pure reading of a `DNS::parse_zone` answer: owner names made absolute, TXT strings joined, the
 * SOA serial found; and the JSON of one TXT record for `DNS::mass_edit_zone`.
 */
import { BoxApiError } from '../../errors.js';
import { isRecord } from '../../state/files.js';

export interface ZoneRecord {
  readonly lineIndex: number;
  /** Absolute, lower-case, no trailing dot. */
  readonly name: string;
  readonly type: string;
  /** Decoded `data_b64` items (for TXT: the character-strings of the one record). */
  readonly data: readonly string[];
}

export interface ParsedZone {
  readonly zone: string;
  readonly serial: string;
  readonly records: readonly ZoneRecord[];
}

const decode = (value: string): string => Buffer.from(value, 'base64').toString('utf8');

/** The owner as written in the file (absolute with a dot, `@`, or relative) made absolute. */
export function absoluteOwner(dname: string, zone: string): string {
  if (dname === '@' || dname === '') return zone;
  if (dname.endsWith('.')) return dname.slice(0, -1).toLowerCase();
  // GUESS: a $ORIGIN line changing the origin mid-file is not followed; cPanel does not write one.
  return `${dname}.${zone}`.toLowerCase();
}

export function parseZoneData(zone: string, data: unknown, action: string): ParsedZone {
  if (!Array.isArray(data)) throw new BoxApiError('box-http', `cpanel: ${action}: DNS::parse_zone for ${zone} answered no list of lines`);
  const records: ZoneRecord[] = [];
  let serial: string | undefined;
  for (const item of data) {
    if (!isRecord(item) || item.type !== 'record') continue;
    const { line_index: lineIndex, dname_b64: dname, record_type: type, data_b64: values } = item;
    if (typeof lineIndex !== 'number' || typeof dname !== 'string' || typeof type !== 'string' || !Array.isArray(values)) continue;
    const decoded = values.filter((value): value is string => typeof value === 'string').map(decode);
    const record: ZoneRecord = { lineIndex, name: absoluteOwner(decode(dname), zone), type: type.toUpperCase(), data: decoded };
    if (record.type === 'SOA' && record.name === zone) serial = decoded[2];
    records.push(record);
  }
  if (serial === undefined || !/^\d+$/.test(serial)) {
    throw new BoxApiError('box-http', `cpanel: ${action}: DNS::parse_zone for ${zone} has no SOA serial; cannot edit the zone safely`);
  }
  return { zone, serial, records };
}

/** TXT values at `name`: the character-strings of each record joined, one value per record. */
export function txtAt(parsed: ParsedZone, name: string): ZoneRecord[] {
  return parsed.records.filter((record) => record.type === 'TXT' && record.name === name);
}

export function txtValue(record: ZoneRecord): string {
  return record.data.join('');
}

/** CNAME target at `name`: absolute, lower-case, no trailing dot. */
export function cnameAt(parsed: ParsedZone, name: string): string | undefined {
  const record = parsed.records.find((candidate) => candidate.type === 'CNAME' && candidate.name === name);
  const target = record?.data[0];
  return target === undefined ? undefined : absoluteOwner(target, parsed.zone);
}

/** Splits a value into character-strings of at most 255 bytes (ACME values are 43). */
export function characterStrings(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (const char of value) {
    if (Buffer.byteLength(current + char, 'utf8') > 255) {
      parts.push(current);
      current = '';
    }
    current += char;
  }
  parts.push(current);
  return parts;
}

/** The `add` JSON of one TXT record; the owner absolute with the dot (else cPanel reads it as relative). */
export function addTxtJson(name: string, value: string, ttl: number): string {
  return JSON.stringify({ dname: `${name}.`, ttl, record_type: 'TXT', data: characterStrings(value) });
}

/** The JSON of one A or AAAA record (`add`, or `edit` with the line it replaces). */
export function addressJson(name: string, type: 'A' | 'AAAA', address: string, ttl: number, lineIndex?: number): string {
  return JSON.stringify({ dname: `${name}.`, ttl, record_type: type, data: [address], ...(lineIndex === undefined ? {} : { line_index: lineIndex }) });
}

/** The zone holding `name`: the longest suffix match among the account's zones. */
export function zoneFor(name: string, zones: readonly string[]): string | undefined {
  return zones.filter((zone) => name === zone || name.endsWith(`.${zone}`)).sort((a, b) => b.length - a.length)[0];
}
