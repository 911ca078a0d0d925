/** Domain-name helpers from dns_update.py and utils.py, kept to their exact semantics. */

/**
 * dns_update.py DOMAIN_RE, verbatim. Python's `re.search(...)` with `$` also matches just
 * before a final "\n", which `matchesDomainRe` reproduces.
 */
const DOMAIN_RE = /^(?!-)(?:[*][.])?(?:[a-zA-Z\d\-_]{0,62}[a-zA-Z\d_]\.){1,126}(?!\d+)[a-zA-Z\d_]{1,63}(\.?)$/;

export function matchesDomainRe(name: string): boolean {
  return DOMAIN_RE.test(name) || (name.endsWith('\n') && DOMAIN_RE.test(name.slice(0, -1)));
}

/** The zone a qname belongs to: exact, case-sensitive suffix match, as set_custom_dns_record. */
export function zoneOf(qname: string, zones: readonly string[]): string | undefined {
  return zones.find((zone) => qname === zone || qname.endsWith('.' + zone));
}

function compareLists(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x !== y) return x < y ? -1 : 1; // Python compares str by code point, like < on JS strings of ASCII
  }
  return a.length - b.length;
}

/**
 * utils.sort_domains: names grouped by their top-most name in the list (the zone), the zone
 * holding PRIMARY_HOSTNAME first, then by reversed labels. Drives /dns/zones order and the
 * "qname" sort order of GET /dns/custom.
 */
export function sortDomains(names: readonly string[], primaryHostname: string): string[] {
  const zoneOfName = new Map<string, string>();
  for (const name of [...names].sort((a, b) => a.length - b.length)) {
    let parent: string | undefined;
    for (const zone of zoneOfName.values()) {
      if (name.endsWith('.' + zone)) {
        parent = zone;
        break;
      }
    }
    zoneOfName.set(name, parent ?? name);
  }
  const isPrimaryZone = (d: string): boolean => d === primaryHostname || primaryHostname.endsWith('.' + d);
  const zoneOrder = [...new Set(zoneOfName.values())].sort((a, b) => {
    const pa = isPrimaryZone(a) ? 0 : 1;
    const pb = isPrimaryZone(b) ? 0 : 1;
    if (pa !== pb) return pa - pb;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const key = (d: string): [number, number, number, string[]] => [
    zoneOrder.indexOf(zoneOfName.get(d) ?? d),
    d !== primaryHostname ? 1 : 0,
    !d.endsWith('.' + primaryHostname) ? 1 : 0,
    d.split('.').reverse(),
  ];
  return [...names].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2] || compareLists(ka[3], kb[3]);
  });
}
