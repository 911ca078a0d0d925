/**
 * The Greenlock plugin's options and the one setting both entry points (the ES module and the
 * CommonJS wrapper) must know synchronously. CommonJS so that the wrapper can require it; the ES
 * module imports it like any CommonJS file.
 */

/** Options of `create()`. Greenlock passes its whole challenge entry; other keys are ignored. */
export interface GreenlockPluginOptions {
  /** Environment the `MIAB_*` settings are read from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Credentials file, as `MIAB_CONFIG`. */
  readonly config?: string;
  /** The DNS host, as `MIAB_DNS01_PROVIDER`: `mailinabox` (default) or `cpanel` (its `CPANEL_*` settings come from `env` or `config`). */
  readonly provider?: string;
  /** Admin API URL, as `MIAB_URL`. */
  readonly url?: string;
  /** Admin account, as `MIAB_EMAIL`. */
  readonly email?: string;
  /** Admin password, as `MIAB_PASSWORD` (prefer `config` or `MIAB_PASSWORD_FILE`). */
  readonly password?: string;
  /** Base32 TOTP secret, as `MIAB_TOTP_SECRET`. */
  readonly totpSecret?: string;
  /** As `MIAB_SYSTEM_KEY_FILE`. */
  readonly systemKeyFile?: string;
  /** As `MIAB_CA_FILE`. */
  readonly caFile?: string;
  /** As `MIAB_TLS_FINGERPRINT`. */
  readonly tlsFingerprint?: string;
  /** As `MIAB_STATE_DIR`. */
  readonly stateDir?: string;
  /** As `MIAB_DNS_RESOLVERS`. */
  readonly dnsResolvers?: string;
  /** As `MIAB_DNS_PORT`. */
  readonly dnsPort?: string | number;
  /** As `MIAB_NAMESERVERS`. */
  readonly nameservers?: string;
  /** Seconds, as `MIAB_PROPAGATION_TIMEOUT`. */
  readonly propagationTimeout?: string | number;
  /** Seconds, as `MIAB_PROPAGATION_WAIT`. */
  readonly propagationWait?: string | number;
  /** Show the HTTP exchanges on stderr (secrets redacted), as `MIAB_DEBUG=1`. @default false */
  readonly debug?: boolean;
  /**
   * Milliseconds ACME.js sleeps after the last `set` before its own DNS check. `set` returns
   * only once every authoritative nameserver serves the record, so no sleep is needed.
   * @default 0
   */
  readonly propagationDelay?: number;
}

export function propagationDelayOf(options: GreenlockPluginOptions): number {
  const delay = options.propagationDelay;
  return typeof delay === 'number' && Number.isFinite(delay) && delay >= 0 ? delay : 0;
}
