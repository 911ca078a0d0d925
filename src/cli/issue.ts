/**
 * `miab-dns01 issue`: get (or renew) a certificate into a directory. Cron-friendly: with
 * --renew-within it does nothing while the existing certificate has time left.
 */
import { spawn } from 'node:child_process';
import { renewalDecision, writeCertificateFiles, type CertificatePaths } from '../acme/certificate-files.js';
import { KEY_TYPES, LETS_ENCRYPT_STAGING, issueCertificate, normalizeIssueDomains, type KeyType } from '../acme/issue.js';
import { ConfigError, MiabDns01Error } from '../errors.js';
import { flag, parseArgs, single, type OptionSpec } from './args.js';
import { flagSettings, loggerFor, type CommandContext } from './commands.js';

const ISSUE_OPTIONS: readonly OptionSpec[] = [
  { name: 'domain', short: 'd', takesValue: true, repeatable: true },
  { name: 'out', takesValue: true },
  { name: 'server', takesValue: true },
  { name: 'staging', takesValue: false },
  { name: 'email', takesValue: true },
  { name: 'agree-tos', takesValue: false },
  { name: 'key-type', takesValue: true },
  { name: 'renew-within', takesValue: true },
  { name: 'deploy-hook', takesValue: true },
  { name: 'help', takesValue: false },
];

export const ISSUE_HELP = `miab-dns01 issue -d <name> [-d <name>...] --out <dir> [options]

  -d, --domain <name>     a name for the certificate (repeat; *.example.com for a wildcard)
  --out <dir>             writes privkey.pem (0600), cert.pem, chain.pem, fullchain.pem
  --server <url>          ACME directory URL (default: Let's Encrypt production)
  --staging               Let's Encrypt staging
  --email <address>       contact for the ACME account
  --agree-tos             accept the CA's terms of service (required)
  --key-type <type>       ec-p256 (default), ec-p384, rsa-2048, rsa-4096
  --renew-within <days>   do nothing while the certificate in --out covers the same names
                          and expires in more than <days> days
  --deploy-hook <cmd>     run through sh after a new certificate is written, with
                          MIAB_CERT_DIR, MIAB_CERT_PATH, MIAB_KEY_PATH, MIAB_CHAIN_PATH,
                          MIAB_FULLCHAIN_PATH, MIAB_DOMAINS (and certbot's RENEWED_LINEAGE,
                          RENEWED_DOMAINS) in its environment
Box options (--url, --email is the ACME contact here: use MIAB_EMAIL for the box account)
and MIAB_* variables as for every command. A private ACME CA (Pebble) needs
NODE_EXTRA_CA_CERTS=<its CA file>.
`;

const SECRET_VARIABLES = ['MIAB_PASSWORD', 'MIAB_TOTP_SECRET', 'MAILINABOX_PASSWORD', 'MIAB_Password'];

function runDeployHook(command: string, paths: CertificatePaths, domains: readonly string[], parentEnv: CommandContext['env']): Promise<number> {
  // The hook needs the paths, not the box credentials.
  const env = Object.fromEntries(Object.entries(parentEnv).filter(([name]) => !SECRET_VARIABLES.includes(name)));
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...env,
        MIAB_CERT_DIR: paths.dir,
        MIAB_CERT_PATH: paths.cert,
        MIAB_KEY_PATH: paths.privkey,
        MIAB_CHAIN_PATH: paths.chain,
        MIAB_FULLCHAIN_PATH: paths.fullchain,
        MIAB_DOMAINS: domains.join(' '),
        RENEWED_LINEAGE: paths.dir,
        RENEWED_DOMAINS: domains.join(' '),
      },
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export async function issue(tokens: readonly string[], context: CommandContext): Promise<void> {
  // `--email` here is the ACME contact; parse it out before the shared box options see it.
  const args = parseArgs(tokens, ISSUE_OPTIONS, false);
  if (flag(args, 'help')) {
    context.stdout(ISSUE_HELP);
    return;
  }
  if (args.positionals.length > 0) throw new ConfigError('usage', `unexpected argument ${JSON.stringify(args.positionals[0])}; names go after -d`);
  const domains = normalizeIssueDomains(args.options.get('domain') ?? []);
  const out = single(args, 'out');
  if (out === undefined) throw new ConfigError('usage', 'give --out <dir>: where to write privkey.pem, cert.pem, chain.pem and fullchain.pem');
  if (!flag(args, 'agree-tos')) throw new ConfigError('usage', "pass --agree-tos to accept the ACME server's terms of service");
  const keyType = single(args, 'key-type') ?? 'ec-p256';
  if (!KEY_TYPES.includes(keyType as KeyType)) throw new ConfigError('usage', `--key-type must be one of ${KEY_TYPES.join(', ')}`);
  if (flag(args, 'staging') && flag(args, 'server')) throw new ConfigError('usage', '--staging and --server exclude each other');
  const renewWithin = single(args, 'renew-within');
  const renewWithinDays = renewWithin === undefined ? undefined : Number(renewWithin);
  if (renewWithinDays !== undefined && !(Number.isFinite(renewWithinDays) && renewWithinDays >= 0)) {
    throw new ConfigError('usage', `--renew-within takes a number of days (got ${JSON.stringify(renewWithin)})`);
  }
  const log = loggerFor(args, context);
  if (renewWithinDays !== undefined) {
    const decision = await renewalDecision(out, domains, renewWithinDays);
    if (!decision.renew) {
      log.info(`the certificate in ${out} covers ${domains.join(', ')} and expires in ${decision.daysLeft.toFixed(1)} days (more than ${renewWithinDays}): nothing to do`);
      return;
    }
    log.info(`renewing: ${decision.reason}`);
  }
  // The box account's email comes from MIAB_EMAIL; --email is the ACME contact.
  const flags = { ...flagSettings(args) };
  delete (flags as { MIAB_EMAIL?: string }).MIAB_EMAIL;
  const env = { ...context.env, ...flags };
  const issued = await issueCertificate({
    domains,
    directoryUrl: flag(args, 'staging') ? LETS_ENCRYPT_STAGING : single(args, 'server'),
    email: single(args, 'email'),
    termsOfServiceAgreed: true,
    keyType: keyType as KeyType,
    env,
    log,
    signal: context.signal,
  });
  const paths = await writeCertificateFiles(out, issued);
  log.info(`wrote ${paths.fullchain} and ${paths.privkey}`);
  context.stdout(`${paths.fullchain}\n`);
  const hook = single(args, 'deploy-hook');
  if (hook !== undefined) {
    log.info(`running the deploy hook: ${hook}`);
    const status = await runDeployHook(hook, paths, domains, context.env);
    if (status !== 0) throw new MiabDns01Error('acme-failed', `the deploy hook exited with status ${status}; the new certificate is in ${out}`);
  }
}
