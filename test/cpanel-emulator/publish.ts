/**
 * The cPanel account's zones as nameservers serve them: after every successful write the
 * emulator renders its zone files (ZoneBook lines) into the publisher contract of
 * test/fixtures/zones.ts, so real nsd servers answer for them, exactly as the Mail-in-a-Box
 * emulator publishes (test/emulator/publish.ts: primary inside the request, a lagging
 * secondary after it). cPanel's own SOA and apex NS lines are replaced by the topology's
 * nameservers; relative owners and targets are read against the zone, as BIND reads a zone file.
 */
import type { ZoneData, ZoneRecord } from '../fixtures/zones.js';
import { absoluteName, type ZoneBook } from './zone.js';

/** Types whose data is a domain name (relative to the zone unless it ends with a dot). */
const NAME_VALUED = new Set(['CNAME', 'NS', 'PTR', 'DNAME']);

export interface ZoneRendering {
  /** Names of the nameservers that serve every zone (no trailing dot). */
  readonly nameservers: readonly string[];
  /** Records added to the zone they fall in (e.g. the nameservers' addresses). */
  readonly glue?: readonly ZoneRecord[];
}

export function zoneDataOf(book: ZoneBook, rendering: ZoneRendering): ZoneData[] {
  return book.zones().map((zone) => {
    const records: ZoneRecord[] = [];
    for (const line of book.lines(zone)) {
      if (line.type !== 'record' || line.recordType === 'SOA') continue;
      const name = absoluteName(line.dname, zone);
      if (line.recordType === 'NS' && name === zone) continue;
      if (line.recordType === 'TXT') {
        // One record, its character-strings joined: the publisher splits at 255 bytes again.
        records.push({ name, type: 'TXT', value: line.data.join('') });
      } else if (NAME_VALUED.has(line.recordType)) {
        records.push({ name, type: line.recordType, value: absoluteName(line.data[0] ?? '@', zone) });
      } else {
        records.push({ name, type: line.recordType, value: line.data.join(' ') });
      }
    }
    for (const glue of rendering.glue ?? []) if (book.zoneOf(glue.name) === zone) records.push(glue);
    return { name: zone, serial: book.serial(zone), nameservers: [...rendering.nameservers], records };
  });
}
