/**
 * Whether a name is a CNAME, asked of the zone's authoritative nameservers instead of the
 * box's whole custom-record table (issue 19 item 8). The box rebuilds its zones inside every
 * API write and its nsd serves the change about 20 ms after the API answers (v75, measured),
 * so an authoritative answer is nearly as fresh as the API, and costs one round trip at any
 * table size where `GET /dns/custom` grows with the table (0.74 s at 2000 records).
 *
 * Every nameserver the propagation wait would check (the zone's NS set, or MIAB_NAMESERVERS)
 * is asked `<name> CNAME` with RD clear, all at once. A CNAME in any authoritative answer is a
 * CNAME; "none" needs every server to answer authoritatively without one. Anything else (no
 * reply within the budget, a server not authoritative, an error, discovery failing) is
 * `unknown`, and the caller reads the table as before: nothing gets less safe.
 */
import type { Nameserver } from '../../propagation/discovery.js';
import type { PropagationSettings } from '../../propagation/settings.js';

/** What the nameservers said about the name. */
export type AuthoritativeCname =
  | { readonly kind: 'cname'; readonly target: string }
  | { readonly kind: 'none' }
  | { readonly kind: 'unknown'; readonly reason: string };

/** How the store asks: injectable, so that tests can count or script the answers. */
export interface CnameNameservers {
  /** `name`'s CNAME as `zone`'s authoritative servers answer it now. Rejects only on the caller's abort. */
  lookup(name: string, zone: string, signal?: AbortSignal): Promise<AuthoritativeCname>;
}

/**
 * The whole budget of one lookup (discovery included): past it the table is read instead, so a
 * box whose port 53 cannot be reached from here costs this much more than the table read alone.
 */
export const AUTHORITATIVE_CNAME_BUDGET_MS = 1_500;

export interface AuthoritativeCnameOptions {
  /** @default AUTHORITATIVE_CNAME_BUDGET_MS */
  readonly budgetMs?: number;
}

function normalize(target: string): string {
  return target.toLowerCase().replace(/\.$/, '');
}

export class AuthoritativeCnameLookup implements CnameNameservers {
  readonly #settings: PropagationSettings;
  readonly #budgetMs: number;
  /** Discovery per zone, once per process: the NS set does not change during a hook call. */
  readonly #nameservers = new Map<string, Promise<readonly Nameserver[]>>();

  constructor(settings: PropagationSettings, options: AuthoritativeCnameOptions = {}) {
    this.#settings = settings;
    this.#budgetMs = options.budgetMs ?? AUTHORITATIVE_CNAME_BUDGET_MS;
  }

  async lookup(name: string, zone: string, signal?: AbortSignal): Promise<AuthoritativeCname> {
    signal?.throwIfAborted();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`no authoritative answer within ${this.#budgetMs} ms`)), this.#budgetMs);
    const onAbort = (): void => deadline.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.#ask(name, zone, deadline.signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const reason = deadline.signal.aborted ? String((deadline.signal.reason as Error).message) : error instanceof Error ? error.message : String(error);
      return { kind: 'unknown', reason };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async #ask(name: string, zone: string, signal: AbortSignal): Promise<AuthoritativeCname> {
    // Loaded on first use: dns-packet and the DNS code stay out of calls that never ask.
    const [{ discoverNameservers }, { queryAuthoritative }] = await Promise.all([import('../../propagation/discovery.js'), import('../../propagation/query.js')]);
    let found = this.#nameservers.get(zone);
    if (found === undefined) {
      found = discoverNameservers(zone, this.#settings, { signal });
      this.#nameservers.set(zone, found);
      // A failed discovery (or one cut by this call's budget) is tried again next time.
      found.catch(() => this.#nameservers.delete(zone));
    }
    const servers = await found;
    if (servers.length === 0) return { kind: 'unknown', reason: `no nameserver of ${zone} to ask` };
    const timeoutMs = Math.min(this.#settings.queryTimeoutMs, this.#budgetMs);
    const answers = await Promise.all(servers.map(({ address }) => queryAuthoritative(address, name, 'CNAME', { timeoutMs, signal })));
    for (const answer of answers) {
      if (answer.status !== 'answer') continue;
      for (const record of answer.records) {
        if (record.type === 'CNAME' && typeof record.data === 'string') return { kind: 'cname', target: normalize(record.data) };
      }
    }
    const unsure = answers.find((answer) => answer.status !== 'answer' && answer.status !== 'nxdomain');
    if (unsure !== undefined) {
      const why = unsure.status === 'no-answer' ? unsure.detail : unsure.status === 'error' ? `answered ${unsure.rcode}` : 'answered without authority';
      return { kind: 'unknown', reason: `a nameserver of ${zone} gave no authoritative answer: ${why}` };
    }
    return { kind: 'none' };
  }
}
