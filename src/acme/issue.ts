/**
 * Native certificate issuance with acme-client: every name is checked against the box before
 * an order exists, the records of the whole order are written and waited for in one batch,
 * and acme-client answers the challenges only after that.
 */
import { normalizeDomain } from '../challenge/names.js';
import { AcmeError, ConfigError, MiabDns01Error } from '../errors.js';
import { usingRuntime, type RuntimeOptions } from '../runtime.js';
import { stderrLogger, type Logger } from '../util/log.js';
import { loadOrCreateAccountKey, readAccountUrl, saveAccountUrl } from './account.js';
import { splitFullchain, type IssuedCertificate } from './certificate-files.js';
import { createDns01Challenge, type Dns01Challenge } from './dns01-challenge.js';
import type { ChallengeEngine } from '../challenge/engine.js';

export type KeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-4096';
export const KEY_TYPES: readonly KeyType[] = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-4096'];

export const LETS_ENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';

export interface IssueCertificateOptions {
  /** Names for the certificate, e.g. `['example.com', '*.example.com']`; the first is the CN. */
  readonly domains: readonly string[];
  /** ACME directory URL. @default Let's Encrypt production */
  readonly directoryUrl?: string;
  /** Contact address for the ACME account. */
  readonly email?: string;
  /** You accept the CA's terms of service; required by Let's Encrypt. @default false */
  readonly termsOfServiceAgreed?: boolean;
  /** PEM account key. @default created once and kept (0600) in the state dir */
  readonly accountKey?: string;
  /** Key type of the certificate's private key. @default 'ec-p256' */
  readonly keyType?: KeyType;
  /** Where to read MIAB_* settings from. @default process.env */
  readonly env?: RuntimeOptions['env'];
  /** Settings given as command-line flags; they win over `env`. */
  readonly flags?: RuntimeOptions['flags'];
  /** Credentials file (else `MIAB_CONFIG` of `env`). */
  readonly configFile?: RuntimeOptions['configFile'];
  /** A DNS host you built, instead of a configured one (see `RuntimeOptions.provider`). */
  readonly provider?: RuntimeOptions['provider'];
  /** A record store you built, instead of a configured host (see `RuntimeOptions.store`). */
  readonly store?: RuntimeOptions['store'];
  /** Progress lines (stderr by default). */
  readonly log?: Logger;
  /** Aborts the propagation wait; records already written are removed. */
  readonly signal?: AbortSignal;
}

/** Validates names and ACME options; throws before anything is written or ordered. */
export function normalizeIssueDomains(domains: readonly string[]): string[] {
  if (domains.length === 0) throw new ConfigError('usage', 'give at least one name to issue a certificate for (-d example.com)');
  const normalized = domains.map((domain) => `${domain.trim().startsWith('*.') ? '*.' : ''}${normalizeDomain(domain)}`);
  for (const domain of normalized) {
    if (domain.indexOf('*') > 0 || domain.startsWith('*.*')) throw new ConfigError('invalid-name', `${domain}: a wildcard may only be the first label (*.example.com)`);
  }
  return [...new Set(normalized)];
}

async function checkDirectory(directoryUrl: string): Promise<void> {
  try {
    const response = await fetch(directoryUrl, { signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new AcmeError(`the ACME directory ${directoryUrl} answered HTTP ${response.status}; check --server`);
    await response.json();
  } catch (error) {
    if (error instanceof MiabDns01Error) throw error;
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : '';
    const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code);
    throw new AcmeError(
      tls
        ? `cannot verify the TLS certificate of the ACME server ${directoryUrl} (${code}); for a private CA such as Pebble, start with NODE_EXTRA_CA_CERTS=<its CA file>`
        : `cannot fetch the ACME directory ${directoryUrl}: ${code || (cause instanceof Error ? cause.message : String(cause))}; check --server and the network`,
      { cause: error },
    );
  }
}

export function progressFromAcmeClient(log: Logger): (message: string) => void {
  const steps: [RegExp, (match: RegExpMatchArray) => string][] = [
    [/Placed certificate order successfully, received (\d+)/, (m) => `order created: ${m[1]} authorization(s)`],
    [/\[auto\] \[(.+?)\] Completing challenge/, (m) => `answering the challenge for ${m[1]}`],
    [/\[auto\] Finalizing order/, () => 'all authorizations are valid; finalizing the order'],
  ];
  // A wildcard and its apex are two authorizations of one name: acme-client reports both,
  // and the same line twice says nothing new.
  const said = new Set<string>();
  return (message) => {
    for (const [pattern, describe] of steps) {
      const match = message.match(pattern);
      if (!match) continue;
      const line = describe(match);
      if (said.has(line)) continue;
      said.add(line);
      log.info(line);
    }
  };
}

function acmeFailure(error: unknown, directoryUrl: string): MiabDns01Error {
  if (error instanceof MiabDns01Error) return error;
  const response = typeof error === 'object' && error !== null && 'response' in error ? (error as { response?: { data?: unknown } }).response : undefined;
  const problem = response?.data;
  const message = error instanceof Error ? error.message : String(error);
  return new AcmeError(`the ACME server ${new URL(directoryUrl).host} refused: ${message}${problem ? ` (problem document: ${JSON.stringify(problem)})` : ''}`, { problem, cause: error });
}

/**
 * Runs an order (`auto`: acme-client's auto() with our challenge functions) with one owner of
 * the undo: the challenge's `removeAll`, which waits for writes still landing. The engine
 * decides when it runs (any failure, an exception outside any promise, a signal); on success
 * it removes what acme-client's own clean-up left.
 */
export async function runOrder(engine: ChallengeEngine, auto: (challenge: Dns01Challenge) => Promise<string>, options: { readonly log: Logger; readonly signal?: AbortSignal | undefined; readonly settleMs?: number }): Promise<string> {
  const { signal } = options;
  const challenge = createDns01Challenge({ engine, log: options.log, ...(signal === undefined ? {} : { signal }), ...(options.settleMs === undefined ? {} : { settleMs: options.settleMs }) });
  // On a signal, stop at once: acme-client cannot be cancelled and may retry a dead server
  // for a minute; the undo removes our records right away.
  const aborted = new Promise<never>((_resolve, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    if (signal?.aborted) reject(signal.reason);
  });
  aborted.catch(() => undefined);
  return engine.undoOnFailure(
    async () => {
      const fullchain = await Promise.race([aborted, auto(challenge)]);
      await challenge.removeAll();
      return fullchain;
    },
    signal,
    () => challenge.removeAll(),
  );
}

/** Gets a certificate for `domains` through DNS-01 on the box. */
export async function issueCertificate(options: IssueCertificateOptions): Promise<IssuedCertificate> {
  const log = options.log ?? stderrLogger();
  const domains = normalizeIssueDomains(options.domains);
  const directoryUrl = options.directoryUrl ?? LETS_ENCRYPT_PRODUCTION;
  const keyType = options.keyType ?? 'ec-p256';
  if (!KEY_TYPES.includes(keyType)) throw new ConfigError('usage', `unknown key type ${JSON.stringify(keyType)}; use one of ${KEY_TYPES.join(', ')}`);
  const host = { ...(options.provider ? { provider: options.provider } : {}), ...(options.store ? { store: options.store } : {}) };
  return usingRuntime({ env: options.env ?? process.env, flags: options.flags, configFile: options.configFile, log, signal: options.signal, ...host }, async ({ engine, config }) => {
    // Every name must be in a box zone before the CA hears of the order.
    for (const domain of domains) await engine.resolve(domain);
    await checkDirectory(directoryUrl);
    const { default: acme } = await import('acme-client');
    const ownKey = options.accountKey === undefined;
    const account = options.accountKey ?? (await loadOrCreateAccountKey(config.stateDir, directoryUrl, async () => (await acme.crypto.createPrivateEcdsaKey('P-256')).toString())).pem;
    const accountUrl = ownKey ? await readAccountUrl(config.stateDir, directoryUrl) : undefined;
    const client = new acme.Client({ directoryUrl, accountKey: account, ...(accountUrl === undefined ? {} : { accountUrl }) });
    if (accountUrl === undefined) {
      try {
        await client.createAccount({ termsOfServiceAgreed: options.termsOfServiceAgreed ?? false, ...(options.email ? { contact: [`mailto:${options.email}`] } : {}) });
      } catch (error) {
        throw acmeFailure(error, directoryUrl);
      }
      if (ownKey) await saveAccountUrl(config.stateDir, directoryUrl, client.getAccountUrl());
    }
    const certificateKey =
      keyType === 'ec-p256'
        ? await acme.crypto.createPrivateEcdsaKey('P-256')
        : keyType === 'ec-p384'
          ? await acme.crypto.createPrivateEcdsaKey('P-384')
          : await acme.crypto.createPrivateRsaKey(keyType === 'rsa-2048' ? 2048 : 4096);
    const [, csr] = await acme.crypto.createCsr({ commonName: domains.find((domain) => !domain.startsWith('*.')) ?? domains[0], altNames: domains }, certificateKey);
    acme.setLogger(progressFromAcmeClient(log));
    log.info(`requesting a certificate for ${domains.join(', ')} from ${directoryUrl}`);
    try {
      const fullchain = await runOrder(
        engine,
        (challenge) =>
          client.auto({
            csr,
            email: options.email,
            termsOfServiceAgreed: options.termsOfServiceAgreed ?? false,
            challengePriority: challenge.challengePriority,
            skipChallengeVerification: challenge.skipChallengeVerification,
            challengeCreateFn: (authz, acmeChallenge, keyAuthorization) => challenge.challengeCreateFn(authz, acmeChallenge, keyAuthorization),
            challengeRemoveFn: (authz, acmeChallenge, keyAuthorization) => challenge.challengeRemoveFn(authz, acmeChallenge, keyAuthorization),
          }),
        { log, signal: options.signal },
      );
      log.info('certificate issued');
      return { privateKey: certificateKey.toString(), fullchain, ...splitFullchain(fullchain) };
    } catch (error) {
      throw acmeFailure(error, directoryUrl);
    } finally {
      acme.setLogger(() => undefined);
    }
  });
}
