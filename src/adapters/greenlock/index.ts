/**
 * The Greenlock / ACME.js dns-01 plugin (`miab-dns01/greenlock`): translates the plugin
 * protocol (`init`, `zones`, `set`, `get`, `remove`, `propagationDelay`, one argument each,
 * never resolving to undefined) into engine calls. The record name is exactly the one Greenlock
 * gives (`dnsHost`), CNAMEs into other box zones are followed, every write is journaled, and
 * `set` returns only once every authoritative nameserver serves the value.
 */
import type { Environment, SettingName, Settings } from '../../config/settings.js';
import { MiabDns01Error } from '../../errors.js';
import { canListTxt } from '../../records/store.js';
import { usingRuntime, type Runtime } from '../../runtime.js';
import { stderrLogger } from '../../util/log.js';
import { propagationDelayOf, type GreenlockPluginOptions } from './options.cjs';

export type { GreenlockPluginOptions } from './options.cjs';

/** The parts of an ACME.js / acme-dns-01-test challenge the plugin reads. */
export interface GreenlockChallenge {
  readonly dnsHost?: string;
  readonly dnsPrefix?: string;
  readonly dnsZone?: string;
  readonly dnsAuthorization?: string;
  readonly keyAuthorizationDigest?: string;
  readonly identifier?: { readonly value?: string | null };
}

export interface GreenlockRequest {
  readonly challenge?: GreenlockChallenge;
}

export interface GreenlockZonesRequest {
  /** acme-dns-01-test passes the names here. */
  readonly dnsHosts?: readonly string[];
  /** ACME.js passes them here. */
  readonly challenge?: { readonly dnsHosts?: readonly string[] };
}

export interface GreenlockDns01Plugin {
  init(options: unknown): Promise<null>;
  /** The provider's zones (all of them: the host tells which names it serves, not which we need). */
  zones(options: GreenlockZonesRequest): Promise<string[]>;
  /** Adds the value (never replacing another) and waits until every nameserver serves it. */
  set(options: GreenlockRequest): Promise<null>;
  /** `{ dnsAuthorization }` while that value is published at the name, else `null`. */
  get(options: GreenlockRequest): Promise<{ dnsAuthorization: string } | null>;
  /** Removes exactly this value. */
  remove(options: GreenlockRequest): Promise<null>;
  readonly propagationDelay: number;
}

const SETTINGS: readonly (readonly [keyof GreenlockPluginOptions, SettingName])[] = [
  ['provider', 'MIAB_DNS01_PROVIDER'],
  ['url', 'MIAB_URL'],
  ['email', 'MIAB_EMAIL'],
  ['password', 'MIAB_PASSWORD'],
  ['totpSecret', 'MIAB_TOTP_SECRET'],
  ['systemKeyFile', 'MIAB_SYSTEM_KEY_FILE'],
  ['caFile', 'MIAB_CA_FILE'],
  ['tlsFingerprint', 'MIAB_TLS_FINGERPRINT'],
  ['stateDir', 'MIAB_STATE_DIR'],
  ['dnsResolvers', 'MIAB_DNS_RESOLVERS'],
  ['dnsPort', 'MIAB_DNS_PORT'],
  ['nameservers', 'MIAB_NAMESERVERS'],
  ['propagationTimeout', 'MIAB_PROPAGATION_TIMEOUT'],
  ['propagationWait', 'MIAB_PROPAGATION_WAIT'],
];

function settingsOf(options: GreenlockPluginOptions): Settings {
  const settings: Partial<Record<SettingName, string>> = {};
  for (const [key, name] of SETTINGS) {
    const value = options[key];
    if (typeof value === 'string' || typeof value === 'number') settings[name] = String(value);
  }
  return settings;
}

/** Where the record goes: `dnsHost`, else prefix + zone, else (the harness's get) the identifier. */
function recordNameOf(challenge: GreenlockChallenge): string {
  if (challenge.dnsHost) return challenge.dnsHost;
  if (challenge.dnsPrefix && challenge.dnsZone) return `${challenge.dnsPrefix}.${challenge.dnsZone}`;
  if (challenge.identifier?.value) return challenge.identifier.value;
  throw new TypeError('miab-dns01/greenlock: the challenge has no dnsHost, dnsPrefix + dnsZone or identifier');
}

function valueOf(challenge: GreenlockChallenge): string | undefined {
  return challenge.dnsAuthorization ?? challenge.keyAuthorizationDigest;
}

function challengeOf(request: GreenlockRequest): GreenlockChallenge {
  if (request?.challenge === undefined) throw new TypeError('miab-dns01/greenlock: called without { challenge }');
  return request.challenge;
}

export function create(options: GreenlockPluginOptions = {}): GreenlockDns01Plugin {
  const env: Environment = options.env ?? process.env;
  const log = stderrLogger({ prefix: 'miab-dns01 greenlock', debug: options.debug === true || env.MIAB_DEBUG === '1' });
  const flags = settingsOf(options);
  // One runtime per call: settings and the credentials file are read fresh, the session comes
  // from the 0600 cache (one login for many calls), and no connection outlives a call.
  const run = <T>(work: (runtime: Runtime) => Promise<T>): Promise<T> =>
    usingRuntime({ env, flags, ...(options.config === undefined ? {} : { configFile: options.config }), log }, work);

  const requireValue = (challenge: GreenlockChallenge): string => {
    const value = valueOf(challenge);
    if (value === undefined) throw new TypeError('miab-dns01/greenlock: the challenge has no dnsAuthorization');
    return value;
  };

  return {
    async init() {
      return null;
    },
    async zones() {
      return run((runtime) => runtime.provider.store.zones());
    },
    async set(request) {
      const challenge = challengeOf(request);
      const record = { name: recordNameOf(challenge), value: requireValue(challenge), exactName: true };
      await run((runtime) => runtime.engine.present([record], { wait: true }));
      return null;
    },
    async get(request) {
      const challenge = challengeOf(request);
      const name = recordNameOf(challenge);
      const wanted = valueOf(challenge);
      return run(async (runtime) => {
        const target = await runtime.engine.resolve(name, { exactName: true });
        const { store } = runtime.provider;
        if (!canListTxt(store)) throw new MiabDns01Error('cannot-verify', `greenlock get: cannot verify TXT ${target.fqdn}: this record store offers no way to read TXT values; ask the nameservers instead`);
        const values = await store.txtValues(target.fqdn);
        const found = wanted === undefined ? values[0] : values.find((value) => value === wanted);
        return found === undefined ? null : { dnsAuthorization: found };
      });
    },
    async remove(request) {
      const challenge = challengeOf(request);
      const value = requireValue(challenge);
      const name = recordNameOf(challenge);
      await run((runtime) => runtime.engine.cleanup(name, value, { exactName: true }));
      return null;
    },
    propagationDelay: propagationDelayOf(options),
  };
}
