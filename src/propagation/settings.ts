/**
 * How the propagation check runs, read from `MIAB_DNS_RESOLVERS`, `MIAB_DNS_PORT`,
 * `MIAB_NAMESERVERS`, `MIAB_PROPAGATION_TIMEOUT` and `MIAB_PROPAGATION_WAIT`. Parsing is
 * pure (no file or network access: /etc/resolv.conf is read only when discovery needs it)
 * and rejects bad input with a message naming the variable and the form it expects.
 */
import { ConfigError } from '../errors.js';
import { durationForms, parseDurationMs } from '../util/duration.js';
import { parseHostPort, type DnsServer, type ServerSpec } from './address.js';

export interface PropagationSettings {
  /**
   * Recursive resolvers used only to find a zone's nameservers and their addresses
   * (`MIAB_DNS_RESOLVERS`). Never asked about the challenge records themselves: a resolver
   * that looks before the record exists caches "no such name" for the zone's 86400 s
   * negative TTL. `undefined`: the `nameserver` lines of /etc/resolv.conf.
   * @default undefined
   */
  readonly resolvers: readonly DnsServer[] | undefined;
  /** Port of the authoritative nameservers found by discovery (`MIAB_DNS_PORT`). @default 53 */
  readonly dnsPort: number;
  /**
   * The authoritative servers to check instead of the zone's NS records
   * (`MIAB_NAMESERVERS`); host names among them are resolved through `resolvers`.
   * `undefined`: discover them for each zone.
   * @default undefined
   */
  readonly nameservers: readonly ServerSpec[] | undefined;
  /** Give up waiting after this long (`MIAB_PROPAGATION_TIMEOUT`). 0 checks once. @default 300000 */
  readonly timeoutMs: number;
  /**
   * Do not check at all: sleep this long instead (`MIAB_PROPAGATION_WAIT`), for networks
   * where the nameservers cannot be queried from this machine.
   * @default undefined
   */
  readonly fixedWaitMs: number | undefined;
  /** How long one DNS query (one UDP or TCP exchange) may take. @default 2000 */
  readonly queryTimeoutMs: number;
  /**
   * Pause after the first check that finds a server lacking a record. Short, and growing
   * slowly (`intervalFactor`): 10 s into a wait the pause is still under 0.5 s, so a server
   * is noticed ~0.1-0.2 s (median) after it starts serving (bench/RESULTS.md), for about 34
   * small UDP queries per pending server and name in those 10 s; the pause reaches
   * `maxIntervalMs` after about 3 minutes.
   * @default 200
   */
  readonly initialIntervalMs: number;
  /** Each pause is the previous one times this. @default 1.025 */
  readonly intervalFactor: number;
  /** Pauses never grow beyond this. @default 5000 */
  readonly maxIntervalMs: number;
}

export const DEFAULT_PROPAGATION_SETTINGS: PropagationSettings = Object.freeze({
  resolvers: undefined,
  dnsPort: 53,
  nameservers: undefined,
  timeoutMs: 300_000,
  fixedWaitMs: undefined,
  queryTimeoutMs: 2000,
  initialIntervalMs: 200,
  intervalFactor: 1.025,
  maxIntervalMs: 5000,
});

// Node's timers overflow above 2^31-1 ms (about 24.8 days) and then fire at once; a day is
// far beyond any sensible DNS wait and keeps us clear of that.
const MAX_SECONDS = 86_400;

function invalid(variable: string, value: string, expected: string, why?: string): ConfigError {
  return new ConfigError('config-invalid', `${variable}=${JSON.stringify(value)} is invalid${why ? ` (${why})` : ''}: expected ${expected}`);
}

/** Seconds as a plain number (`300`, `2.5`) or a duration (`90s`, `5m`, `1h`, `1d`), in ms. */
function parseSeconds(variable: string, value: string): number {
  const expected = `${durationForms('s')}, at most one day`;
  const ms = parseDurationMs(value, 's');
  if (ms === undefined) throw invalid(variable, value, expected);
  if (ms > MAX_SECONDS * 1000) throw invalid(variable, value, expected, 'longer than a day');
  return ms;
}

function parsePortSetting(variable: string, value: string): number {
  const text = value.trim();
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port < 1 || port > 65535) throw invalid(variable, value, 'a port number between 1 and 65535');
  return port;
}

function parseServerList(variable: string, value: string, expected: string, parse: (entry: string) => ServerSpec): ServerSpec[] {
  // A trailing comma or stray spaces are typing noise, not a mistake worth failing over.
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) throw invalid(variable, value, expected, 'no server listed');
  return entries.map((entry) => {
    try {
      return parse(entry);
    } catch (error) {
      throw invalid(variable, value, expected, error instanceof Error ? error.message : String(error));
    }
  });
}

/** Present and not blank: an empty variable means "unset", as shells and .env files use it. */
function given(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * Reads the `MIAB_*` propagation variables from `env` (the process environment, or the
 * merged settings of the config layer). `overrides` replace parsed values; tests use it for
 * short intervals. Throws `ConfigError('config-invalid')` naming the variable at fault.
 */
export function parsePropagationSettings(
  env: Readonly<Record<string, string | undefined>>,
  overrides: Partial<PropagationSettings> = {},
): PropagationSettings {
  const settings: { -readonly [K in keyof PropagationSettings]: PropagationSettings[K] } = { ...DEFAULT_PROPAGATION_SETTINGS };

  const port = given(env, 'MIAB_DNS_PORT');
  if (port !== undefined) settings.dnsPort = parsePortSetting('MIAB_DNS_PORT', port);

  const resolvers = given(env, 'MIAB_DNS_RESOLVERS');
  if (resolvers !== undefined) {
    // Resolvers cannot be host names: we would need a resolver to find them.
    settings.resolvers = Object.freeze(
      parseServerList(
        'MIAB_DNS_RESOLVERS',
        resolvers,
        'a comma-separated list of IP addresses with optional ports, such as 192.0.2.53, 192.0.2.54:5353, [2001:db8::53]:53 or ::1',
        (entry) => parseHostPort(entry, { defaultPort: 53, allowHostnames: false }),
      ),
    );
  }

  const nameservers = given(env, 'MIAB_NAMESERVERS');
  if (nameservers !== undefined) {
    settings.nameservers = Object.freeze(
      parseServerList(
        'MIAB_NAMESERVERS',
        nameservers,
        `a comma-separated list of nameservers (IP address or host name, optional port, default ${settings.dnsPort}), such as ns1.example.com, 192.0.2.1:53 or [2001:db8::1]:53`,
        (entry) => parseHostPort(entry, { defaultPort: settings.dnsPort, allowHostnames: true }),
      ),
    );
  }

  const timeout = given(env, 'MIAB_PROPAGATION_TIMEOUT');
  if (timeout !== undefined) settings.timeoutMs = parseSeconds('MIAB_PROPAGATION_TIMEOUT', timeout);

  const wait = given(env, 'MIAB_PROPAGATION_WAIT');
  if (wait !== undefined) settings.fixedWaitMs = parseSeconds('MIAB_PROPAGATION_WAIT', wait);

  return Object.freeze({ ...settings, ...overrides });
}
