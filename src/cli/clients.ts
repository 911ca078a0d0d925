/**
 * `miab-dns01 clients add|list|remove`: manages the registry `serve` authenticates against.
 * Needs only the state dir (no box credentials): it can run before the box is configured.
 * `add` prints the password once, in the JSON that lego, cert-manager and Caddy read.
 */
import { ConfigError, MiabDns01Error } from '../errors.js';
import { collectSettings } from '../config/settings.js';
import { parseProviderName, resolveStateDir } from '../config/config.js';
import { parseCidr } from '../serve/cidr.js';
import { resolve } from 'node:path';
import { ClientRegistry, type ClientTsigKey } from '../serve/registry.js';
import { DEFAULT_TSIG_ALGORITHM, TSIG_ALGORITHMS, isTsigAlgorithm, type TsigAlgorithm } from '../serve/dns/tsig.js';
import { writePrivateFile } from '../state/files.js';
import { findZone, normalizeDomain } from '../challenge/names.js';
import { contextLogger, withRuntime } from '../adapters/context.js';
import { flag, single, type ParsedArgs } from './args.js';
import { CLIENTS_OPTIONS } from './serve-spec.js';
import type { CommandContext, CommandHandler } from './command.js';

type Settings = Awaited<ReturnType<typeof collectSettings>>;

function settingsOf(context: CommandContext): Promise<Settings> {
  return collectSettings({ env: context.env, flags: context.flags, configFile: context.configFile });
}

function registryOf(settings: Settings, context: CommandContext): ClientRegistry {
  return new ClientRegistry(resolveStateDir(settings.MIAB_STATE_DIR, context.env));
}

/**
 * `--ddns-host` needs a DNS host that can write A/AAAA records (the provider's optional
 * address store): refused here, before a client gets credentials it could never use.
 */
function refuseDdnsWithoutAddresses(settings: Settings, context: CommandContext): void {
  const provider = parseProviderName(settings.MIAB_DNS01_PROVIDER, 'MIAB_DNS01_PROVIDER', context.env);
  if (provider !== 'serve') return;
  throw new ConfigError(
    'config-invalid',
    '--ddns-host needs a DNS host that can set A/AAAA records, and a serve client (MIAB_DNS01_SERVE_URL) has no dyndns write of its own; run "clients add" and serve with the Mail-in-a-Box or cPanel provider',
  );
}

function usage(message: string): ConfigError {
  return new ConfigError('usage', `${message}; see "miab-dns01 help clients"`);
}

/** File-system failures (read-only or missing state dir) as a configuration error, not a crash. */
function stateDirError(error: unknown): never {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  if (error instanceof Error && !(error instanceof MiabDns01Error) && code !== undefined) {
    throw new ConfigError('config-invalid', `cannot use the client registry under MIAB_STATE_DIR (${error.message}); use a writable --state-dir, the same as serve's`);
  }
  throw error;
}

/** `--tsig [--tsig-algorithm A]`: the algorithm of the key to issue, or undefined without --tsig. */
function tsigAlgorithmOf(args: ParsedArgs): TsigAlgorithm | undefined {
  const given = single(args, 'tsig-algorithm');
  if (!flag(args, 'tsig')) {
    if (given !== undefined) throw usage('--tsig-algorithm goes with --tsig');
    return undefined;
  }
  if (given === undefined) return DEFAULT_TSIG_ALGORITHM;
  const algorithm = given.toLowerCase().replace(/\.sig-alg\.reg\.int\.?$/, '');
  if (!isTsigAlgorithm(algorithm)) throw usage(`--tsig-algorithm takes one of ${Object.keys(TSIG_ALGORITHMS).join(', ')} (got ${JSON.stringify(given)})`);
  return algorithm;
}

/** The key as BIND writes it (`tsig-keygen`), which `nsupdate -k` and BIND's named.conf read. */
export function bindKeyFile(key: ClientTsigKey): string {
  return `key "${key.name}" {\n\talgorithm ${key.algorithm};\n\tsecret "${key.secret}";\n};\n`;
}

/**
 * Without --delegation-zone every domain must be in one of the box's zones, or the client
 * could only fail later at its first write (zone-not-found). Checked against the box when it is
 * configured (as it is on the serve machine); without any box configuration the add goes on
 * with a warning (the registry needs none), and serve refuses such a write with zone-not-found.
 */
async function refuseDomainsOffTheBox(domains: readonly string[], context: CommandContext): Promise<void> {
  let zones: string[];
  try {
    zones = await withRuntime(context, contextLogger(context), (runtime) => runtime.provider.store.zones());
  } catch (error) {
    if (error instanceof ConfigError && error.code === 'config-missing') {
      context.stderr(`miab-dns01: warning: no box configuration here, so the domains were not checked against the box's zones; each must be on the box (or use --delegation-zone)\n`);
      return;
    }
    throw error;
  }
  const off = domains.map((domain) => normalizeDomain(domain)).filter((domain) => findZone(domain, zones) === undefined);
  if (off.length > 0) {
    throw new ConfigError(
      'zone-not-found',
      `${off.join(', ')} ${off.length === 1 ? 'is' : 'are'} in none of the box's zones (${zones.join(', ') || 'none'}): serve could never write ${off.map((domain) => `_acme-challenge.${domain}`).join(', ')}. Add a domain of the box, or give --delegation-zone <box zone> and point _acme-challenge.<domain> there with a CNAME`,
    );
  }
}

export const clients: CommandHandler = (args, context) => runClients(args, context).catch(stateDirError);

function refuseAddOptions(args: ParsedArgs, sub: string): void {
  const given = CLIENTS_OPTIONS.find((option) => args.options.has(option.name));
  if (given !== undefined) throw usage(`--${given.name} goes with "clients add", not "clients ${sub}"`);
}

const runClients: CommandHandler = async (args, context) => {
  const [sub, ...positionals] = args.positionals;
  if (sub === undefined) throw usage('"clients" needs add, list or remove');
  if (sub === 'add') {
    const [name, extra] = positionals;
    if (name === undefined || extra !== undefined) throw usage('"clients add" takes one client name');
    const serverUrl = single(args, 'server-url') ?? '';
    if (serverUrl !== '' && !/^https?:\/\/[^\s/]+/.test(serverUrl)) throw usage(`--server-url takes a URL such as https://certs.example.com:8443 (got ${JSON.stringify(serverUrl)})`);
    const allowFrom = (args.options.get('allow-from') ?? []).map((cidr) => parseCidr(cidr, '--allow-from'));
    const settings = await settingsOf(context);
    const registry = registryOf(settings, context);
    const delegationZone = single(args, 'delegation-zone');
    const tsigAlgorithm = tsigAlgorithmOf(args);
    const keyFile = single(args, 'tsig-key-file');
    if (keyFile !== undefined && tsigAlgorithm === undefined) throw usage('--tsig-key-file goes with --tsig');
    const ddnsHosts = args.options.get('ddns-host') ?? [];
    if (ddnsHosts.length > 0) refuseDdnsWithoutAddresses(settings, context);
    if (delegationZone === undefined) await refuseDomainsOffTheBox(args.options.get('domain') ?? [], context);
    const created = await registry.add({
      name,
      domains: args.options.get('domain') ?? [],
      allowFrom,
      serverUrl,
      ...(delegationZone === undefined ? {} : { delegationZone }),
      ...(tsigAlgorithm === undefined ? {} : { tsigAlgorithm }),
      ...(ddnsHosts.length === 0 ? {} : { ddnsHosts }),
    });
    if (keyFile !== undefined && created.tsig !== undefined) {
      await writePrivateFile(resolve(keyFile), bindKeyFile(created.tsig)).catch((error: unknown) => {
        throw new ConfigError('config-invalid', `client "${name}" was added, but its key file ${keyFile} could not be written (${error instanceof Error ? error.message : String(error)}); remove the client and add it again with a writable --tsig-key-file`);
      });
    }
    context.stdout(`${JSON.stringify(created, null, 2)}\n`);
    context.stderr(`miab-dns01: added client "${name}"; store the password now: it is not kept and cannot be shown again\n`);
    if (created.tsig !== undefined) context.stderr(`miab-dns01: its TSIG key ${created.tsig.name} (${created.tsig.algorithm}) is kept in the registry, which serve needs to check signatures: protect the registry like the box credentials\n`);
    return;
  }
  if (sub === 'list') {
    refuseAddOptions(args, sub);
    if (positionals.length > 0) throw usage('"clients list" takes no arguments');
    const registry = registryOf(await settingsOf(context), context);
    const lastUse = await registry.lastUse();
    const list = await registry.list();
    for (const client of list) {
      const delegated = client.delegationZone === undefined ? '' : `\tdelegated-to=${client.delegationZone}`;
      const ddns = client.ddnsHosts === undefined || client.ddnsHosts.length === 0 ? '' : `\tddns-hosts=${client.ddnsHosts.join(',')}`;
      const tsig = client.tsig === undefined ? '' : `\ttsig=${client.tsig.name}/${client.tsig.algorithm}`;
      context.stdout(`${client.name}\tdomains=${client.domains.join(',')}\tallow-from=${client.allowFrom.join(',') || 'any'}${delegated}${tsig}${ddns}\tlast-use=${lastUse[client.name] ?? 'never'}\n`);
    }
    if (list.length === 0) context.stderr('miab-dns01: no clients; add one with "miab-dns01 clients add <name> --domain <domain>"\n');
    return;
  }
  if (sub === 'remove') {
    refuseAddOptions(args, sub);
    const [name, extra] = positionals;
    if (name === undefined || extra !== undefined) throw usage('"clients remove" takes one client name');
    await registryOf(await settingsOf(context), context).remove(name);
    context.stderr(`miab-dns01: removed client "${name}"\n`);
    return;
  }
  throw usage(`unknown "clients" subcommand "${sub}"`);
};

