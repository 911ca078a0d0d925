/**
 * `miab-dns01 issue`: get (or renew) a certificate into a directory. Cron-friendly: with
 * --renew-within it does nothing while the existing certificate has time left. With
 * --dry-run (as certbot's) it runs a full order against the staging directory and keeps
 * nothing.
 */
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { contextLogger } from '../adapters/context.js';
import { renewalDecision, writeCertificateFiles, type CertificatePaths } from '../acme/certificate-files.js';
import { KEY_TYPES, LETS_ENCRYPT_STAGING, issueCertificate, normalizeIssueDomains, type KeyType } from '../acme/issue.js';
import { MiabDns01Error } from '../errors.js';
import { ALIASES, SECRET_SETTINGS } from '../config/settings.js';
import { PROVIDER_SECRET_VARIABLES } from '../runtime.js';
import { flag, parseDuration, single, usageError } from './args.js';
import type { CommandContext, CommandHandler } from './command.js';

/**
 * Every variable that carries a secret of any provider, as the providers declare them (with
 * other tools' names for them): the deploy hook needs none.
 */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set([
  ...[...SECRET_SETTINGS].flatMap((name) => [name, ...(ALIASES[name] ?? [])]),
  ...PROVIDER_SECRET_VARIABLES,
]);

/** The deploy hook's environment: ours without any secret, plus where the certificate is. */
export function deployHookEnvironment(parentEnv: CommandContext['env'], paths: CertificatePaths, domains: readonly string[]): Record<string, string | undefined> {
  return {
    ...Object.fromEntries(Object.entries(parentEnv).filter(([name]) => !SECRET_VARIABLES.has(name))),
    MIAB_CERT_DIR: paths.dir,
    MIAB_CERT_PATH: paths.cert,
    MIAB_KEY_PATH: paths.privkey,
    MIAB_CHAIN_PATH: paths.chain,
    MIAB_FULLCHAIN_PATH: paths.fullchain,
    MIAB_DOMAINS: domains.join(' '),
    RENEWED_LINEAGE: paths.dir,
    RENEWED_DOMAINS: domains.join(' '),
  };
}

function runDeployHook(command: string, paths: CertificatePaths, domains: readonly string[], parentEnv: CommandContext['env'], json: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      // With --json, stdout is ours: the hook's output goes to stderr.
      stdio: ['ignore', json ? 2 : 'inherit', 'inherit'],
      env: deployHookEnvironment(parentEnv, paths, domains),
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

function fail(message: string): never {
  throw usageError(message, 'issue');
}

export const issue: CommandHandler = async (args, context) => {
  if (args.positionals.length > 0) fail(`unexpected argument ${JSON.stringify(args.positionals[0])}; names go after -d`);
  const log = contextLogger(context);
  const domains = normalizeIssueDomains(args.options.get('domain') ?? []);
  const dryRun = flag(args, 'dry-run');
  const out = single(args, 'out');
  if (out === undefined && !dryRun) fail('give --out <dir>: where to write privkey.pem, cert.pem, chain.pem and fullchain.pem');
  if (!flag(args, 'agree-tos')) fail("pass --agree-tos to accept the ACME server's terms of service");
  const keyType = single(args, 'key-type') ?? 'ec-p256';
  if (!KEY_TYPES.includes(keyType as KeyType)) fail(`--key-type must be one of ${KEY_TYPES.join(', ')}`);
  if (flag(args, 'staging') && flag(args, 'server')) fail('--staging and --server exclude each other');
  const contactFlag = single(args, 'contact');
  const emailFlag = single(args, 'email');
  if (contactFlag !== undefined && emailFlag !== undefined) fail('--email after "issue" is the old spelling of --contact: give only --contact');
  if (emailFlag !== undefined) {
    // Not through the logger: --quiet must not hide that a script needs changing.
    context.stderr('miab-dns01: warning: "issue --email" is deprecated: use --contact for the ACME contact (MIAB_EMAIL, or --email before "issue", is the box account)\n');
  }
  const contact = contactFlag ?? emailFlag;
  const renewWithin = single(args, 'renew-within');
  const renewWithinDays = renewWithin === undefined ? undefined : parseDuration(renewWithin, '--renew-within', 'd') / 86_400_000;
  const directoryUrl = flag(args, 'staging') || (dryRun && !flag(args, 'server')) ? LETS_ENCRYPT_STAGING : single(args, 'server');
  if (renewWithinDays !== undefined && out !== undefined && !dryRun) {
    const decision = await renewalDecision(out, domains, renewWithinDays);
    if (!decision.renew) {
      log.info(`the certificate in ${out} covers ${domains.join(', ')} and expires in ${decision.daysLeft.toFixed(1)} days (more than ${renewWithinDays}): nothing to do`);
      if (context.json) context.stdout(`${JSON.stringify({ issued: false, dryRun, domains, daysLeft: Number(decision.daysLeft.toFixed(2)), out }, null, 2)}\n`);
      return;
    }
    log.info(`renewing: ${decision.reason}`);
  }
  if (dryRun) log.info(`dry run: a full order against ${directoryUrl ?? 'the given server'}; no certificate will be saved and no deploy hook run`);
  const issued = await issueCertificate({
    domains,
    directoryUrl,
    email: contact,
    termsOfServiceAgreed: true,
    keyType: keyType as KeyType,
    env: context.env,
    flags: context.flags,
    configFile: context.configFile,
    log,
    signal: context.signal,
  });
  const notAfter = new Date(new X509Certificate(issued.fullchain).validTo).toISOString();
  if (dryRun || out === undefined) {
    log.info(`dry run: the certificate was issued (valid until ${notAfter}) and discarded`);
    if (context.json) context.stdout(`${JSON.stringify({ issued: true, dryRun: true, domains, directory: directoryUrl, notAfter }, null, 2)}\n`);
    return;
  }
  const paths = await writeCertificateFiles(out, issued);
  log.info(`wrote ${paths.fullchain} and ${paths.privkey}`);
  if (context.json) {
    context.stdout(`${JSON.stringify({ issued: true, dryRun: false, domains, directory: directoryUrl ?? 'default', notAfter, files: paths }, null, 2)}\n`);
  } else {
    context.stdout(`${paths.fullchain}\n`);
  }
  const hook = single(args, 'deploy-hook');
  if (hook !== undefined) {
    log.info(`running the deploy hook: ${hook}`);
    const status = await runDeployHook(hook, paths, domains, context.env, context.json === true);
    if (status !== 0) throw new MiabDns01Error('acme-failed', `the deploy hook exited with status ${status}; the new certificate is in ${out}`);
  }
};
