/**
 * A TxtRecordStore backed by a `miab-dns01 serve` instance, over the httpreq protocol
 * (`POST /present`, `POST /cleanup`, HTTP Basic) plus serve's `GET /scope`. The machine
 * running it holds only its scoped credential, never the box's.
 *
 * Semantics against the interface (store.ts):
 * - `zones()`: the zones of this client's domains as serve reports them (plus the client's
 *   domains themselves for a name delegated by CNAME, so the engine can resolve it);
 * - `cnameTarget(name)`: the CNAME target serve follows for that challenge name, if any;
 * - `appendTxt` / `deleteTxt`: one value, exactly, through serve (which answers only once
 *   every authoritative nameserver serves the write);
 * - `txtValues`: absent. The protocol has no read, so this store declares it cannot list (the
 *   optional capability of store.ts); the engine then says it cannot verify.
 */
import { AuthError, BoxApiError, ConfigError } from '../../errors.js';
import type { BoxResponse, Transport } from '../mailinabox/transport.js';
import { underSignals, type StoreCallOptions, type TxtRecordStore } from '../../records/store.js';
import type { ServeClientConfig } from './config.js';

interface ScopeEntry {
  readonly domain: string;
  readonly challenge: string;
  readonly target: string;
  readonly zone: string;
}

function isScope(value: unknown): value is { domains: ScopeEntry[] } {
  if (typeof value !== 'object' || value === null || !('domains' in value) || !Array.isArray(value.domains)) return false;
  return value.domains.every(
    (entry: unknown) =>
      typeof entry === 'object' && entry !== null && ['domain', 'challenge', 'target', 'zone'].every((key) => typeof (entry as Record<string, unknown>)[key] === 'string'),
  );
}

export class ServeRecordStore implements TxtRecordStore {
  readonly #config: ServeClientConfig;
  readonly #transport: Transport;
  #scope: Promise<ScopeEntry[]> | undefined;

  constructor(config: ServeClientConfig, transport: Transport) {
    this.#config = config;
    this.#transport = transport;
  }

  zones(options?: StoreCallOptions): Promise<string[]> {
    return underSignals(
      [options?.signal],
      async () => {
        const zones = new Set<string>();
        for (const entry of await this.#loadScope()) {
          zones.add(entry.zone);
          if (entry.target !== entry.challenge) zones.add(entry.domain);
        }
        return [...zones];
      },
      true,
    );
  }

  async refresh(options?: StoreCallOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    this.#scope = undefined;
  }

  cnameTarget(name: string, options?: StoreCallOptions): Promise<string | undefined> {
    return underSignals(
      [options?.signal],
      async () => {
        const entry = (await this.#loadScope()).find((candidate) => candidate.challenge === name);
        return entry !== undefined && entry.target !== entry.challenge ? entry.target : undefined;
      },
      true,
    );
  }

  appendTxt(name: string, value: string, options?: StoreCallOptions): Promise<void> {
    return underSignals([options?.signal], () => this.#call('present', name, value), false);
  }

  deleteTxt(name: string, value: string, options?: StoreCallOptions): Promise<void> {
    return underSignals([options?.signal], () => this.#call('cleanup', name, value), false);
  }

  #headers(): Record<string, string> {
    return {
      authorization: `Basic ${Buffer.from(`${this.#config.username}:${this.#config.password}`).toString('base64')}`,
      accept: 'application/json',
    };
  }

  #loadScope(): Promise<ScopeEntry[]> {
    this.#scope ??= (async () => {
      const response = await this.#transport.send('GET', `${this.#config.url}/scope`, this.#headers());
      this.#check(response, 'read scope', `${this.#config.url}/scope`);
      let body: unknown;
      try {
        body = JSON.parse(response.text);
      } catch {
        body = undefined;
      }
      if (!isScope(body)) throw new BoxApiError('box-http', `serve-client: read scope: ${this.#config.url} did not answer like miab-dns01 serve`, { status: response.status });
      return body.domains;
    })();
    this.#scope.catch(() => (this.#scope = undefined));
    return this.#scope;
  }

  async #call(action: 'present' | 'cleanup', name: string, value: string): Promise<void> {
    const url = `${this.#config.url}/${action}`;
    const response = await this.#transport.send('POST', url, { ...this.#headers(), 'content-type': 'application/json' }, JSON.stringify({ fqdn: `${name}.`, value }));
    this.#check(response, action === 'present' ? `add ${name}` : `remove ${name}`, url);
  }

  #check(response: BoxResponse, what: string, url: string): void {
    if (response.status >= 200 && response.status < 300) return;
    const prefix = `serve-client: ${what}`;
    let code = '';
    try {
      const parsed: unknown = JSON.parse(response.text);
      if (typeof parsed === 'object' && parsed !== null && 'error' in parsed && typeof parsed.error === 'string') code = parsed.error;
    } catch {
      // not JSON: a proxy's page
    }
    const details = { status: response.status, body: code };
    switch (response.status) {
      case 401:
        throw new AuthError('auth-invalid-credentials', `${prefix}: serve refused the credentials; check MIAB_DNS01_SERVE_USERNAME and the password ("miab-dns01 clients add" printed them)`);
      case 403:
        throw new ConfigError('invalid-name', `${prefix}: outside this client's scope (serve allows only the --domain names given to "clients add", from its --allow-from networks)`);
      case 400:
        throw new ConfigError(code === 'zone-not-found' ? 'zone-not-found' : code === 'cname-conflict' ? 'cname-conflict' : 'invalid-value', `${prefix}: serve refused the request (${code || 'bad request'})`);
      case 429:
        throw new BoxApiError('box-rejected', `${prefix}: serve is refusing this address after too many failed logins; wait a minute and check the credentials`, details);
      case 504:
        throw new BoxApiError('box-timeout', `${prefix}: the box behind serve did not answer in time`, details);
      default:
        throw new BoxApiError('box-http', `${prefix}: ${url} answered HTTP ${response.status}${code ? ` (${code})` : ''}`, details);
    }
  }
}
