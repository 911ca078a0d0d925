/**
 * The box's custom DNS store (custom.yaml) and its rendering into zones, following
 * dns_update.py set_custom_dns_record / write_custom_dns_config and the GET routes of
 * daemon.py. Validation happens in the daemon's order because clients see which message wins.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { ZoneData, ZoneRecord } from '../fixtures/zones.js';
import { matchesDomainRe, sortDomains, zoneOf } from './domains.js';
import type { JsonValue } from './python.js';
import type { CustomRecord } from './types.js';

/** The TTL bounds the fork clamps a record's TTL to (dns_update.py TTL_MIN, TTL_MAX). */
export const FORK_TTL_MIN = 30;
export const FORK_TTL_MAX = 2_592_000;

/** A ValueError from set_custom_dns_record: the daemon answers 400 with this text. */
export class RecordError extends Error {}

export type RecordAction = 'add' | 'set' | 'remove';

/** Python's repr() of a str, enough for the ipaddress error message. */
export function pyRepr(s: string): string {
  return s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * write_custom_dns_config writes custom.yaml grouped by qname, then rtype, in first-seen
 * order; reading it back yields that order. So after every write, a value appended for a
 * qname seen earlier moves next to that qname's other values.
 */
function yamlOrder(records: readonly CustomRecord[]): CustomRecord[] {
  const byQname = new Map<string, Map<string, CustomRecord[]>>();
  for (const record of records) {
    let byType = byQname.get(record.qname);
    if (!byType) byQname.set(record.qname, (byType = new Map()));
    let list = byType.get(record.rtype);
    if (!list) byType.set(record.rtype, (list = []));
    list.push(record);
  }
  return [...byQname.values()].flatMap((byType) => [...byType.values()].flat());
}

export class CustomDnsStore {
  private stored: CustomRecord[];
  /** Zones in utils.sort_domains order, as get_dns_zones returns them. */
  readonly zones: readonly string[];

  constructor(
    zones: readonly string[],
    private readonly primaryHostname: string,
    initial: readonly CustomRecord[],
  ) {
    this.zones = sortDomains(zones, primaryHostname);
    this.stored = yamlOrder(initial.map((r) => ({ ...r })));
  }

  all(): CustomRecord[] {
    return this.stored.map((r) => ({ ...r }));
  }

  /**
   * set_custom_dns_record. `value` null means "no value" (DELETE with an empty body, or an
   * empty A/AAAA without X-Forwarded-For). Returns the zone that changed, or null when
   * nothing changed (the daemon then answers "OK").
   */
  set(qname: string, rtypeIn: string, valueIn: string | null, action: RecordAction, ttl?: number): string | null {
    const zone = zoneOf(qname, this.zones);
    if (zone === undefined) {
      throw new RecordError(`${qname} is not a domain name or a subdomain of a domain name managed by this box.`);
    }
    const rtype = rtypeIn.toUpperCase();
    let value = valueIn;
    if (value !== null) {
      if (!matchesDomainRe(qname)) throw new RecordError('Invalid name.');
      if (rtype === 'A' || rtype === 'AAAA') {
        if (value !== 'local') {
          if (!isIPv4(value) && !isIPv6(value)) {
            throw new RecordError(`${pyRepr(value)} does not appear to be an IPv4 or IPv6 address`);
          }
          if (rtype === 'A' && !isIPv4(value)) throw new RecordError("That's an IPv6 address.");
          if (rtype === 'AAAA' && !isIPv6(value)) throw new RecordError("That's an IPv4 address.");
        }
      } else if (rtype === 'CNAME' || rtype === 'NS') {
        if (rtype === 'NS' && qname === zone) throw new RecordError('NS records can only be set for subdomains.');
        if (!value.endsWith('.')) value += '.';
        if (!matchesDomainRe(value)) throw new RecordError('Invalid value.');
      } else if (!['TXT', 'SRV', 'MX', 'SSHFP', 'CAA'].includes(rtype)) {
        throw new RecordError(`Unknown record type '${rtype}'.`);
      }
    }

    const next: CustomRecord[] = [];
    let changed = false;
    let needsAdd = true;
    for (const r of this.stored) {
      const sameName = r.qname === qname && r.rtype === rtype;
      if (action === 'add') {
        if (sameName && r.value === value) return null; // already there: "OK"
      } else if (action === 'set') {
        if (sameName) {
          if (r.value === value) {
            needsAdd = false;
          } else {
            changed = true;
            continue;
          }
        }
      } else if (sameName && (value === null || r.value === value)) {
        changed = true;
        continue;
      }
      next.push(r);
    }
    if ((action === 'add' || action === 'set') && needsAdd && value !== null) {
      // A TTL only comes with the fork's form body; removal ignores it (matches the value).
      next.push(ttl === undefined ? { qname, rtype, value } : { qname, rtype, value, ttl });
      changed = true;
    }
    if (!changed) return null;
    this.stored = yamlOrder(next);
    return zone;
  }

  /**
   * daemon.py dns_get_records: records filtered by exact qname/rtype, each with its zone and
   * its position in creation order and in the control panel's qname order.
   */
  list(qname?: string, rtype?: string, withTtl = false): JsonValue[] {
    const records = this.stored.filter((r) => (!qname || r.qname === qname) && (!rtype || r.rtype === rtype));
    const domainOrder = sortDomains(
      records.map((r) => r.qname),
      this.primaryHostname,
    );
    const rows = records.map((r, created) => ({ record: r, created, zone: zoneOf(r.qname, this.zones), qnameOrder: 0 }));
    const sorted = [...rows].sort((a, b) => {
      const za = a.zone ? this.zones.indexOf(a.zone) : 0;
      const zb = b.zone ? this.zones.indexOf(b.zone) : 0;
      if (za !== zb) return za - zb;
      const qa = domainOrder.indexOf(a.record.qname);
      const qb = domainOrder.indexOf(b.record.qname);
      if (qa !== qb) return qa - qb;
      return a.record.rtype < b.record.rtype ? -1 : a.record.rtype > b.record.rtype ? 1 : 0;
    });
    sorted.forEach((row, i) => (row.qnameOrder = i));
    return rows.map((row) => {
      const out: { [key: string]: JsonValue } = {
        qname: row.record.qname,
        rtype: row.record.rtype,
        value: row.record.value,
        'sort-order': { created: row.created, qname: row.qnameOrder },
      };
      if (row.zone) out.zone = row.zone;
      // The fork lists every record's TTL. One stored without a TTL (the zone's 86400 s
      // applies) is listed as null: a guess, from the fork's get_custom_dns_config yielding
      // None for it.
      if (withTtl) out.ttl = row.record.ttl ?? null;
      return out;
    });
  }
}

/**
 * Turns the store into ZoneData the way do_dns_update rewrites zone files: every zone is
 * rendered, and only zones whose content changed get a new serial.
 */
export class ZoneRenderer {
  private readonly serials = new Map<string, number>();

  constructor(
    private readonly store: CustomDnsStore,
    private readonly nameservers: readonly string[],
    private readonly publicIp: string,
    nowMs: number,
  ) {
    // The box's serials look like YYYYMMDDnn.
    const initial = Number(new Date(nowMs).toISOString().slice(0, 10).replace(/-/g, '')) * 100;
    for (const zone of store.zones) this.serials.set(zone, initial);
  }

  render(changedZones: readonly string[] = []): ZoneData[] {
    for (const zone of changedZones) this.serials.set(zone, (this.serials.get(zone) ?? 0) + 1);
    const records = this.store.all();
    return this.store.zones.map((zone) => ({
      name: zone,
      serial: this.serials.get(zone) ?? 0,
      nameservers: [...this.nameservers],
      records: records
        .filter((r) => zoneOf(r.qname, [zone]) !== undefined)
        .map((r): ZoneRecord | undefined => {
          // Owner names go out lower-case (the ZoneData contract); DNS matching is
          // case-insensitive, so this is what nsd would serve for the box's zone file.
          const name = r.qname.toLowerCase();
          if (r.value === 'local' && r.rtype === 'A') return { name, type: 'A', value: this.publicIp };
          if (r.value === 'local' && r.rtype === 'AAAA') return undefined; // no PUBLIC_IPV6 here
          return { name, type: r.rtype, value: r.value };
        })
        .filter((r): r is ZoneRecord => r !== undefined),
    }));
  }
}
