/**
 * The zone files of the emulated cPanel account, as lists of lines, and the two UAPI calls that
 * read and edit them (DNS::parse_zone, DNS::mass_edit_zone). Line indexes, base64 fields, the SOA
 * serial as an optimistic lock and the stale-serial error text follow cpanel-api.md; the rest is
 * marked GUESS where the spec is silent.
 */

/** One zone-file line item. `dname` is kept exactly as written (absolute with a dot, or relative). */
export type ZoneLine =
  | { readonly type: 'record'; readonly dname: string; readonly recordType: string; readonly ttl: number; readonly data: readonly string[] }
  | { readonly type: 'comment' | 'control'; readonly text: string };

/** A record to seed a zone with, in zone-file terms. */
export interface SeedRecord {
  readonly zone: string;
  /** As written in the file: `name.zone.` absolute, `name` relative, `@` the apex. */
  readonly dname: string;
  readonly recordType: string;
  readonly ttl?: number;
  readonly data: readonly string[];
}

export class UapiFailure extends Error {}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Absolute lower-case name without trailing dot, as the resolver would see the owner. */
export function absoluteName(dname: string, zone: string): string {
  if (dname === '@' || dname === '') return zone;
  if (dname.endsWith('.')) return dname.slice(0, -1).toLowerCase();
  return `${dname}.${zone}`.toLowerCase();
}

export class ZoneBook {
  readonly #zones = new Map<string, ZoneLine[]>();
  readonly #serials = new Map<string, number>();
  #foreignEdits = 0;

  constructor(zones: readonly string[], seeds: readonly SeedRecord[], firstSerial = 2026113001) {
    for (const zone of zones) {
      // What cPanel writes for a new account (GUESS at the exact set): $TTL, SOA, NS, A.
      this.#serials.set(zone, firstSerial);
      this.#zones.set(zone, [
        { type: 'comment', text: `; cPanel first:11.118.0.0 (update_time):1764470000 Cpanel::ZoneFile::VERSION:1.3 hostname:server.example.test latest:11.118.0.0` },
        { type: 'control', text: '$TTL 14400' },
        { type: 'record', dname: `${zone}.`, recordType: 'SOA', ttl: 86400, data: ['ns1.example.test.', 'hostmaster.example.test.', String(firstSerial), '3600', '1800', '1209600', '86400'] },
        { type: 'record', dname: `${zone}.`, recordType: 'NS', ttl: 86400, data: ['ns1.example.test.'] },
        { type: 'record', dname: `${zone}.`, recordType: 'A', ttl: 14400, data: ['127.0.0.1'] },
        { type: 'record', dname: 'www', recordType: 'CNAME', ttl: 14400, data: [`${zone}.`] },
      ]);
    }
    for (const seed of seeds) {
      this.#lines(seed.zone).push({ type: 'record', dname: seed.dname, recordType: seed.recordType, ttl: seed.ttl ?? 14400, data: [...seed.data] });
    }
  }

  zones(): string[] {
    return [...this.#zones.keys()];
  }

  has(zone: string): boolean {
    return this.#zones.has(zone);
  }

  serial(zone: string): number {
    return this.#serials.get(zone) ?? 0;
  }

  lines(zone: string): readonly ZoneLine[] {
    return this.#lines(zone);
  }

  #lines(zone: string): ZoneLine[] {
    const lines = this.#zones.get(zone);
    if (!lines) throw new UapiFailure(`You do not have access to a domain named “${zone}”.`); // GUESS: wording
    return lines;
  }

  /** TXT values (character-strings joined) at an absolute name, for test assertions. */
  txt(name: string): string[] {
    const zone = this.zoneOf(name);
    if (!zone) return [];
    return this.#lines(zone)
      .filter((line): line is Extract<ZoneLine, { type: 'record' }> => line.type === 'record' && line.recordType === 'TXT' && absoluteName(line.dname, zone) === name)
      .map((line) => line.data.join(''));
  }

  zoneOf(name: string): string | undefined {
    return this.zones()
      .filter((zone) => name === zone || name.endsWith(`.${zone}`))
      .sort((a, b) => b.length - a.length)[0];
  }

  #bumpSerial(zone: string): number {
    const next = this.serial(zone) + 1;
    this.#serials.set(zone, next);
    const lines = this.#lines(zone);
    const soaIndex = lines.findIndex((line) => line.type === 'record' && line.recordType === 'SOA');
    const soa = lines[soaIndex];
    if (soa?.type === 'record') {
      const data = [...soa.data];
      data[2] = String(next);
      lines[soaIndex] = { ...soa, data };
    }
    return next;
  }

  /**
   * Another editor (the cPanel UI, another tool) changes the zone: a comment line inserted near
   * the top shifts every later line index, and the serial moves.
   */
  foreignEdit(zone: string): void {
    this.#foreignEdits += 1;
    this.#lines(zone).splice(1, 0, { type: 'comment', text: `; edited elsewhere ${this.#foreignEdits}` });
    this.#bumpSerial(zone);
  }

  /** DNS::parse_zone `data`: one item per line, 0-based line_index, base64 fields. */
  parseZone(zone: string): unknown[] {
    return this.#lines(zone).map((line, index) => {
      if (line.type === 'record') {
        return {
          line_index: index,
          type: 'record',
          dname_b64: b64(line.dname),
          record_type: line.recordType,
          ttl: line.ttl,
          data_b64: line.data.map(b64),
        };
      }
      // GUESS: comments and control lines carry their text as text_b64.
      return { line_index: index, type: line.type, text_b64: b64(line.text) };
    });
  }

  /**
   * DNS::mass_edit_zone. `serial` must equal the zone's serial (the optimistic lock); removes and
   * edits address the line indexes of the zone as it was read; adds go to the end (GUESS: real
   * cPanel's placement is not documented, only that indexes shift).
   */
  massEdit(zone: string, serial: string | undefined, adds: readonly string[], edits: readonly string[], removes: readonly string[]): string {
    const lines = this.#lines(zone);
    if (serial === undefined || serial === '') throw new UapiFailure('You must specify the “serial” argument.'); // GUESS: wording
    const current = this.serial(zone);
    if (serial !== String(current)) {
      // The spec's text; cPanel has shipped both apostrophes, the emulator uses the typographic one.
      throw new UapiFailure(`The given serial number (${serial}) does not match the DNS zone\u2019s serial number (${current}). Refresh your view of the DNS zone, then resubmit.`);
    }
    const parsedAdds = adds.map((raw) => parseRecordJson(raw, zone, false));
    const parsedEdits = edits.map((raw) => parseRecordJson(raw, zone, true));
    const removeIndexes = removes.map((raw) => {
      if (!/^\d+$/.test(raw)) throw new UapiFailure(`“${raw}” is not a valid line index.`); // GUESS: wording
      const index = Number(raw);
      const line = lines[index];
      if (line?.type !== 'record') throw new UapiFailure(`The zone “${zone}” has no record at line index ${index}.`); // GUESS
      if (line.recordType === 'SOA') throw new UapiFailure('You cannot remove the SOA record.'); // GUESS
      return index;
    });
    const next = [...lines];
    for (const edit of parsedEdits) {
      const target = next[edit.lineIndex ?? -1];
      if (target?.type !== 'record') throw new UapiFailure(`The zone “${zone}” has no record at line index ${edit.lineIndex}.`); // GUESS
      next[edit.lineIndex ?? -1] = edit.line;
    }
    const removed = new Set(removeIndexes);
    const kept = next.filter((_, index) => !removed.has(index));
    kept.push(...parsedAdds.map((add) => add.line));
    lines.length = 0;
    lines.push(...kept);
    return String(this.#bumpSerial(zone));
  }
}

function parseRecordJson(raw: string, zone: string, needsIndex: boolean): { line: ZoneLine; lineIndex?: number } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new UapiFailure(`The system failed to parse the JSON “${raw}”.`); // GUESS: wording
  }
  if (typeof value !== 'object' || value === null) throw new UapiFailure('Each record must be a JSON object.');
  const item = value as Record<string, unknown>;
  const { dname, record_type: recordType, ttl, data, line_index: lineIndex } = item;
  if (typeof dname !== 'string' || dname === '') throw new UapiFailure('The record needs a “dname”.');
  if (typeof recordType !== 'string') throw new UapiFailure('The record needs a “record_type”.');
  // `data` is always an array (cpanel-api.md), even for one string.
  if (!Array.isArray(data) || !data.every((part): part is string => typeof part === 'string') || data.length === 0) {
    throw new UapiFailure('The record’s “data” must be an array of strings.');
  }
  if (recordType === 'TXT' && data.some((part) => Buffer.byteLength(part, 'utf8') > 255)) {
    throw new UapiFailure('A TXT character-string cannot exceed 255 bytes.');
  }
  const owner = absoluteName(dname, zone);
  if (owner !== zone && !owner.endsWith(`.${zone}`)) throw new UapiFailure(`“${dname}” is not in the zone “${zone}”.`);
  if (needsIndex && (typeof lineIndex !== 'number' || !Number.isInteger(lineIndex))) throw new UapiFailure('An edit needs a “line_index”.');
  return {
    line: { type: 'record', dname, recordType, ttl: typeof ttl === 'number' ? ttl : 14400, data },
    ...(typeof lineIndex === 'number' ? { lineIndex } : {}),
  };
}
