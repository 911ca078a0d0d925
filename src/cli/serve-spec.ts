/**
 * The command-line surface of `serve` and `clients` (options and help text), apart from
 * their handlers so that the command table stays cheap to load for every other command.
 */
import type { OptionSpec } from './args.js';

/**
 * The bounds on what one peer or client can make `serve` do (docs/serve-security.md): each a
 * flag and a variable (flag > environment), a whole number.
 */
export const SERVE_LIMITS = [
  { name: 'max-connections', variable: 'MIAB_DNS01_SERVE_MAX_CONNECTIONS', key: 'maxConnections', min: 1, description: 'open connections overall (default 1000)' },
  { name: 'max-connections-per-address', variable: 'MIAB_DNS01_SERVE_MAX_CONNECTIONS_PER_ADDRESS', key: 'maxConnectionsPerAddress', min: 1, description: 'open connections from one address, IPv6 per prefix; --trust-proxy peers exempt (default 32)' },
  { name: 'max-pending-verifications', variable: 'MIAB_DNS01_SERVE_MAX_PENDING_VERIFICATIONS', key: 'maxPendingVerifications', min: 1, description: 'password hashes in flight before new ones are refused with 503 (default 2 x UV_THREADPOOL_SIZE = 8)' },
  { name: 'max-writes-per-client', variable: 'MIAB_DNS01_SERVE_MAX_WRITES_PER_CLIENT', key: 'maxWritesPerClient', min: 1, description: 'writes one client may have in flight; 429 beyond (default 10)' },
  { name: 'max-values-per-name', variable: 'MIAB_DNS01_SERVE_MAX_VALUES_PER_NAME', key: 'maxValuesPerName', min: 1, description: 'live values one client may hold at one name; 429 beyond (default 10)' },
  { name: 'ipv6-prefix', variable: 'MIAB_DNS01_SERVE_IPV6_PREFIX', key: 'ipv6Prefix', min: 1, max: 128, description: 'IPv6 peers are counted (lockout, connections, audit) by this prefix length (default 64)' },
  { name: 'max-tracked-addresses', variable: 'MIAB_DNS01_SERVE_MAX_TRACKED_ADDRESSES', key: 'maxTrackedAddresses', min: 100, description: 'addresses the lockout and the audit aggregation remember (default 100000)' },
] as const;

function limitOptions(): OptionSpec[] {
  return SERVE_LIMITS.map((limit) => ({ name: limit.name, takesValue: true, valueName: '<n>', description: `${limit.description}; ${limit.variable}` }));
}

/** The option table entry of `serve` (help, completion and the man page come from it). */
export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { name: 'listen', takesValue: true, valueName: '<host:port>', description: 'address to listen on, e.g. 127.0.0.1:8053 or [::]:8443' },
  { name: 'tls-cert', takesValue: true, valueName: '<pem>', description: 'serve HTTPS with this certificate chain (with --tls-key)' },
  { name: 'tls-key', takesValue: true, valueName: '<pem>', description: 'the private key of --tls-cert' },
  { name: 'behind-tls-proxy', takesValue: false, description: 'allow plain HTTP on a non-loopback address: a TLS reverse proxy is in front' },
  { name: 'trust-proxy', takesValue: true, repeatable: true, valueName: '<cidr>', description: 'believe X-Forwarded-For from peers in this range (repeatable)' },
  { name: 'audit-log', takesValue: true, valueName: '<file>', description: 'one JSON line per request (mode 0600), never a secret' },
  { name: 'expire-after', takesValue: true, valueName: '<dur>', description: 'remove acme-dns values this long after their write (default 1h)' },
  { name: 'dns-listen', takesValue: true, valueName: '<host:port>', description: 'also answer RFC 2136 DNS UPDATE signed with TSIG, on UDP and TCP at this address' },
  { name: 'dns-udp-wait', takesValue: true, valueName: '<dur>', description: 'longest nameserver wait before answering an UPDATE over UDP (default 8s; TCP waits up to --wait-limit)' },
  { name: 'wait-limit', takesValue: true, valueName: '<dur>', description: "longest nameserver wait before answering a write anyway (default 25s, below lego's 30 s HTTP timeout)" },
  ...limitOptions(),
];

export const SERVE_DETAILS = `Endpoints: POST /update, GET /health, POST /register (403) (acme-dns);
           POST /present, POST /cleanup (lego httpreq, acme.sh acmeproxy);
           GET /nic/update (dyndns2: ddclient, inadyn, routers) for --ddns-host names.
--dns-listen: RFC 2136 UPDATE with TSIG (nsupdate, certbot dns-rfc2136, lego rfc2136,
           cert-manager, acme.sh dns_nsupdate) for clients added with --tsig.
Clients and their credentials: "miab-dns01 help clients". The box configuration is the
usual one (MIAB_URL, MIAB_EMAIL, MIAB_PASSWORD_FILE, ...); the registry lives in MIAB_STATE_DIR.`;

export const CLIENTS_OPTIONS: readonly OptionSpec[] = [
  { name: 'domain', takesValue: true, repeatable: true, valueName: '<domain>', description: 'add: a domain the client may write _acme-challenge.<domain> for (apex and wildcard; repeat)' },
  { name: 'allow-from', takesValue: true, repeatable: true, valueName: '<cidr>', description: 'add: source networks the client may connect from (repeat; default anywhere)' },
  { name: 'server-url', takesValue: true, valueName: '<url>', description: 'add: the URL clients reach serve at (printed as server_url)' },
  { name: 'tsig', takesValue: false, description: 'add: also issue a TSIG key for RFC 2136 clients (serve --dns-listen); its secret is kept in the registry' },
  { name: 'tsig-algorithm', takesValue: true, valueName: '<alg>', description: 'add: hmac-sha256 (default), hmac-sha512, hmac-sha384, hmac-sha224, hmac-sha1 or hmac-md5' },
  { name: 'tsig-key-file', takesValue: true, valueName: '<file>', description: 'add: also write the TSIG key as a BIND key file (mode 0600) for nsupdate -k' },
  { name: 'ddns-host', takesValue: true, repeatable: true, valueName: '<fqdn>', description: 'add: an exact name whose A/AAAA the client may set over dyndns2 (GET /nic/update; repeat)' },
  { name: 'delegation-zone', takesValue: true, valueName: '<box zone>', description: 'add: the domains are not on the box; their values go to a name in this box zone (CNAME to it)' },
];

export const CLIENTS_DETAILS = `add     creates a client allowed to write _acme-challenge.<domain> (apex and wildcard) for
        each --domain, from the --allow-from ranges only, and prints ONE JSON document with
        its password: the only time it is shown. Its "acme_dns" member is the storage map
        lego (ACME_DNS_STORAGE_PATH), cert-manager and Caddy read as-is.
        --delegation-zone: each domain's values go to _acme-challenge.<subdomain>.<box zone>
        (its "fulldomain"); point _acme-challenge.<domain> there with a CNAME, as with acme-dns.
        --ddns-host: the client may set the A and AAAA records of exactly that name over
        dyndns2 (GET /nic/update, HTTP Basic with its username and password); --domain never
        grants an address record, --ddns-host never a TXT.
        --tsig: also a TSIG key (name "<client name>.", printed as "tsig") for RFC 2136;
        its secret stays in the registry (it cannot be hashed); --tsig-key-file writes it
        as a BIND key file for "nsupdate -k".
list    names, domains, networks, TSIG key name and algorithm, dyndns names, last use (never a secret)
remove  the client is refused at once, also by a running serve
The registry is <MIAB_STATE_DIR>/serve/clients.json (mode 0600, password hashes, TSIG secrets); use
the same --state-dir / MIAB_STATE_DIR as serve. It needs no box credentials.`;
