/**
 * The client registry: who may write which challenge names from where. One JSON file, mode
 * 0600, in `<MIAB_STATE_DIR>/serve/`, holding password hashes only (and, for clients added with `--tsig`, their TSIG secrets,
 * which cannot be hashed). `clients add|remove` edit
 * it; `serve` re-reads it when it changes, so a removed client is refused at once. Last use is
 * kept in a separate file that only `serve` writes, so the two never overwrite each other.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, MiabDns01Error } from '../errors.js';
import { normalizeDomain } from '../challenge/names.js';
import { isRecord, readJsonFile, readTextFile, writePrivateFile } from '../state/files.js';
import { withLock } from '../state/lock.js';
import { hashSecret, newPassword, verifySecret } from '../util/secret-hash.js';
import { TSIG_ALGORITHMS, type TsigAlgorithm } from './dns/tsig.js';

/**
 * A client's TSIG key for the RFC 2136 front-end. The secret is stored as it is (base64), not
 * hashed: the server computes the HMAC with it. That is why `--tsig` is opt-in.
 */
export interface ClientTsigKey {
  /** Absolute, lower-case, with the trailing dot (`web1.`). */
  readonly name: string;
  readonly algorithm: TsigAlgorithm;
  /** Base64. */
  readonly secret: string;
}

export interface ServeClient {
  /** The name given to `clients add` (audit log, `clients list`). */
  readonly name: string;
  /** A UUID: the Basic user name and acme-dns `X-Api-User`. */
  readonly username: string;
  readonly passwordHash: string;
  /** Domains (no `*.`, punycode) whose `_acme-challenge` name the client may write. */
  readonly domains: readonly string[];
  /** CIDRs the client may connect from; empty: anywhere. */
  readonly allowFrom: readonly string[];
  /** acme-dns subdomain (a UUID) for each domain. */
  readonly subdomains: Readonly<Record<string, string>>;
  /**
   * Delegation mode: the box zone that holds this client's records, because its domains are
   * not on the box; each domain's values go to `_acme-challenge.<subdomain>.<zone>`, which
   * the client's own DNS points `_acme-challenge.<domain>` at with a CNAME.
   */
  readonly delegationZone?: string;
  /** `clients add --tsig`: the key this client signs RFC 2136 UPDATEs with. */
  readonly tsig?: ClientTsigKey;
  /**
   * Exact names (no wildcard) whose A and AAAA records the client sets over dyndns2. A scope
   * of their own: `domains` never grant an address record, and these grant no TXT.
   */
  readonly ddnsHosts?: readonly string[];
  readonly createdAt: string;
}

interface RegistryFile {
  readonly version: 1;
  readonly clients: readonly ServeClient[];
}

/** What `clients add` prints once: the only time the password exists outside the client. */
export interface NewClientCredentials {
  readonly name: string;
  readonly username: string;
  readonly password: string;
  readonly acme_dns: Readonly<Record<string, AcmeDnsAccount>>;
  /** With `--tsig`: the key for RFC 2136 clients (nsupdate, certbot dns-rfc2136, lego rfc2136, ...). */
  readonly tsig?: ClientTsigKey;
  /** The names whose A/AAAA the client sets over dyndns2 (`GET /nic/update`), when it has any. */
  readonly ddns_hosts?: readonly string[];
}

/** The TSIG key name of a client: its name, lower-case, absolute. */
export function tsigKeyNameOf(clientName: string): string {
  return `${clientName.toLowerCase()}.`;
}

function isTsigKey(value: unknown): value is ClientTsigKey {
  return isRecord(value) && typeof value.name === 'string' && typeof value.secret === 'string' && typeof value.algorithm === 'string' && Object.hasOwn(TSIG_ALGORITHMS, value.algorithm);
}

/** One entry of the storage map lego (`ACME_DNS_STORAGE_PATH`), cert-manager and Caddy read. */
export interface AcmeDnsAccount {
  readonly username: string;
  readonly password: string;
  readonly fulldomain: string;
  readonly subdomain: string;
  readonly allowfrom: readonly string[];
  readonly server_url: string;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function isClient(value: unknown): value is ServeClient {
  return (
    isRecord(value) &&
    typeof value.name === 'string' &&
    typeof value.username === 'string' &&
    typeof value.passwordHash === 'string' &&
    Array.isArray(value.domains) &&
    value.domains.every((domain) => typeof domain === 'string') &&
    Array.isArray(value.allowFrom) &&
    value.allowFrom.every((cidr) => typeof cidr === 'string') &&
    isRecord(value.subdomains) &&
    typeof value.createdAt === 'string' &&
    (value.delegationZone === undefined || typeof value.delegationZone === 'string') &&
    (value.tsig === undefined || isTsigKey(value.tsig)) &&
    (value.ddnsHosts === undefined || (Array.isArray(value.ddnsHosts) && value.ddnsHosts.every((host) => typeof host === 'string')))
  );
}

function isRegistryFile(value: unknown): value is RegistryFile {
  return isRecord(value) && value.version === 1 && Array.isArray(value.clients) && value.clients.every(isClient);
}

export function registryDir(stateDir: string): string {
  return join(stateDir, 'serve');
}

/** A `--ddns-host`: an exact, fully qualified name (lower-case punycode, no trailing dot). */
export function normalizeDdnsHost(input: string): string {
  if (input.trim().startsWith('*')) throw new ConfigError('usage', `--ddns-host ${JSON.stringify(input)}: give exact names, no wildcard (repeat --ddns-host for each name)`);
  try {
    return normalizeDomain(input.trim());
  } catch (error) {
    throw new ConfigError('usage', `--ddns-host ${JSON.stringify(input)} is not a host name: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** `_acme-challenge.<domain>`: the challenge name of a domain. */
export function fulldomainOf(domain: string): string {
  return `_acme-challenge.${domain}`;
}

/**
 * Where `serve` writes for one of the client's domains: its challenge name, or in delegation
 * mode `_acme-challenge.<subdomain>.<delegation zone>` (the target of the client's CNAME).
 */
export function writeNameOf(client: ServeClient, domain: string): string {
  const subdomain = client.subdomains[domain];
  return client.delegationZone !== undefined && subdomain !== undefined ? fulldomainOf(`${subdomain}.${client.delegationZone}`) : fulldomainOf(domain);
}

export class ClientRegistry {
  readonly #file: string;
  readonly #lastUseFile: string;
  #cache: { mtimeMs: number; size: number; clients: readonly ServeClient[] } | undefined;
  readonly #lastUse = new Map<string, string>();
  #lastUseTimer: NodeJS.Timeout | undefined;

  constructor(stateDir: string) {
    this.#file = join(registryDir(stateDir), 'clients.json');
    this.#lastUseFile = join(registryDir(stateDir), 'last-use.json');
  }

  get path(): string {
    return this.#file;
  }

  async list(): Promise<readonly ServeClient[]> {
    let info;
    try {
      info = await stat(this.#file);
    } catch {
      this.#cache = undefined;
      return [];
    }
    if (this.#cache && this.#cache.mtimeMs === info.mtimeMs && this.#cache.size === info.size) return this.#cache.clients;
    const text = await readTextFile(this.#file);
    if (text === undefined) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!isRegistryFile(parsed)) {
      // Refusing everyone beats guessing: a damaged registry must be fixed, not half-read.
      throw new MiabDns01Error('state-corrupt', `the client registry ${this.#file} is damaged; restore it from a backup or remove it and add the clients again`);
    }
    this.#cache = { mtimeMs: info.mtimeMs, size: info.size, clients: parsed.clients };
    return parsed.clients;
  }

  async add(options: { name: string; domains: readonly string[]; allowFrom: readonly string[]; serverUrl: string; delegationZone?: string; tsigAlgorithm?: TsigAlgorithm; ddnsHosts?: readonly string[] }): Promise<NewClientCredentials> {
    if (!NAME_PATTERN.test(options.name)) {
      throw new ConfigError('usage', `client name ${JSON.stringify(options.name)}: use 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit`);
    }
    const ddnsHosts = [...new Set((options.ddnsHosts ?? []).map(normalizeDdnsHost))];
    if (options.domains.length === 0 && ddnsHosts.length === 0) throw new ConfigError('usage', '"clients add" needs at least one --domain or --ddns-host');
    const domains = [...new Set(options.domains.map((domain) => normalizeDomain(domain)))];
    return withLock(`${this.#file}.lock`, () => this.#add(options, domains, ddnsHosts));
  }

  async #add(options: { name: string; allowFrom: readonly string[]; serverUrl: string; delegationZone?: string; tsigAlgorithm?: TsigAlgorithm }, domains: readonly string[], ddnsHosts: readonly string[]): Promise<NewClientCredentials> {
    const clients = await this.list();
    if (clients.some((client) => client.name === options.name)) {
      throw new ConfigError('serve-client-exists', `a client named "${options.name}" exists; remove it first ("miab-dns01 clients remove ${options.name}") or pick another name`);
    }
    const keyName = tsigKeyNameOf(options.name);
    if (options.tsigAlgorithm !== undefined && clients.some((client) => client.tsig?.name === keyName)) {
      throw new ConfigError('serve-client-exists', `the TSIG key name ${keyName} is taken by another client (key names ignore case); pick another client name`);
    }
    const tsig: ClientTsigKey | undefined =
      options.tsigAlgorithm === undefined ? undefined : { name: keyName, algorithm: options.tsigAlgorithm, secret: randomBytes(TSIG_ALGORITHMS[options.tsigAlgorithm].length).toString('base64') };
    for (const host of ddnsHosts) {
      // A dyndns write replaces the name's addresses: two owners would overwrite each other.
      const owner = clients.find((client) => client.ddnsHosts?.includes(host));
      if (owner !== undefined) throw new ConfigError('usage', `--ddns-host ${host} belongs to the client "${owner.name}" already: a name has one owner (remove it there first, or pick another name)`);
    }
    const password = newPassword();
    const client: ServeClient = {
      name: options.name,
      username: randomUUID(),
      passwordHash: await hashSecret(password),
      domains,
      allowFrom: [...options.allowFrom],
      subdomains: Object.fromEntries(domains.map((domain) => [domain, randomUUID()])),
      ...(options.delegationZone === undefined ? {} : { delegationZone: normalizeDomain(options.delegationZone) }),
      ...(tsig === undefined ? {} : { tsig }),
      ...(ddnsHosts.length === 0 ? {} : { ddnsHosts }),
      createdAt: new Date().toISOString(),
    };
    await this.#save([...clients, client]);
    const acmeDns: Record<string, AcmeDnsAccount> = {};
    for (const domain of domains) {
      acmeDns[domain] = {
        username: client.username,
        password,
        fulldomain: writeNameOf(client, domain),
        subdomain: client.subdomains[domain] ?? '',
        allowfrom: client.allowFrom,
        server_url: options.serverUrl,
      };
    }
    return { name: client.name, username: client.username, password, acme_dns: acmeDns, ...(tsig === undefined ? {} : { tsig }), ...(ddnsHosts.length === 0 ? {} : { ddns_hosts: ddnsHosts }) };
  }

  async remove(name: string): Promise<void> {
    await withLock(`${this.#file}.lock`, () => this.#remove(name));
  }

  async #remove(name: string): Promise<void> {
    const clients = await this.list();
    if (!clients.some((client) => client.name === name)) {
      throw new ConfigError('serve-client-not-found', `there is no client named "${name}"; "miab-dns01 clients list" shows the names`);
    }
    await this.#save(clients.filter((client) => client.name !== name));
  }

  /**
   * The client with these credentials, or undefined. Costs one slow hash whether or not the
   * user name exists, so a stranger cannot probe for valid user names by timing.
   */
  async authenticate(username: string, password: string): Promise<ServeClient | undefined> {
    const client = (await this.list()).find((candidate) => candidate.username === username);
    const valid = await verifySecret(password, client?.passwordHash);
    return valid ? client : undefined;
  }

  /** The client whose TSIG key has this name (any case, with or without the trailing dot). */
  async byTsigKeyName(keyName: string): Promise<ServeClient | undefined> {
    const wanted = `${keyName.toLowerCase().replace(/\.$/, '')}.`;
    return (await this.list()).find((client) => client.tsig?.name === wanted);
  }

  /** Notes a successful request; written at most once a second. */
  touch(client: ServeClient): void {
    this.#lastUse.set(client.name, new Date().toISOString());
    // Unref'd: a pending note of last use must not keep a stopping process alive.
    this.#lastUseTimer ??= setTimeout(() => {
      this.#lastUseTimer = undefined;
      void this.flushLastUse().catch(() => undefined);
    }, 1000).unref();
  }

  async flushLastUse(): Promise<void> {
    if (this.#lastUseTimer) clearTimeout(this.#lastUseTimer);
    this.#lastUseTimer = undefined;
    if (this.#lastUse.size === 0) return;
    const merged = { ...(await this.lastUse()), ...Object.fromEntries(this.#lastUse) };
    await writePrivateFile(this.#lastUseFile, `${JSON.stringify(merged, null, 2)}\n`);
  }

  async lastUse(): Promise<Record<string, string>> {
    const stored = await readJsonFile(this.#lastUseFile, (value): value is Record<string, string> => isRecord(value) && Object.values(value).every((entry) => typeof entry === 'string'));
    return stored ?? {};
  }

  async #save(clients: readonly ServeClient[]): Promise<void> {
    const file: RegistryFile = { version: 1, clients };
    await writePrivateFile(this.#file, `${JSON.stringify(file, null, 2)}\n`);
    this.#cache = undefined;
  }
}
