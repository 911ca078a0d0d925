/**
 * `miab-dns01 clients add|list|remove`: manages the registry `serve` authenticates against.
 * Needs only the state dir (no box credentials): it can run before the box is configured.
 * `add` prints the password once, in the JSON that lego, cert-manager and Caddy read.
 */
import { ConfigError, MiabDns01Error } from '../errors.js';
import { collectSettings } from '../config/settings.js';
import { parseProviderName, resolveStateDir } from '../config/config.js';
import { parseCidr } from '../serve/cidr.js';
import { ClientRegistry } from '../serve/registry.js';
import { single, type ParsedArgs } from './args.js';
import { CLIENTS_OPTIONS } from './serve-spec.js';
import type { CommandContext, CommandHandler } from './command.js';

async function registryFor(context: CommandContext): Promise<ClientRegistry> {
  const settings = await collectSettings({ env: context.env, flags: context.flags, configFile: context.configFile });
  return new ClientRegistry(resolveStateDir(settings.MIAB_STATE_DIR, context.env));
}

/**
 * `--ddns-host` needs a DNS host that can write A/AAAA records (the provider's optional
 * address store): refused here, before a client gets credentials it could never use.
 */
async function refuseDdnsWithoutAddresses(context: CommandContext): Promise<void> {
  const settings = await collectSettings({ env: context.env, flags: context.flags, configFile: context.configFile });
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
    const registry = await registryFor(context);
    const delegationZone = single(args, 'delegation-zone');
    const ddnsHosts = args.options.get('ddns-host') ?? [];
    if (ddnsHosts.length > 0) await refuseDdnsWithoutAddresses(context);
    const created = await registry.add({ name, domains: args.options.get('domain') ?? [], allowFrom, serverUrl, ...(delegationZone === undefined ? {} : { delegationZone }), ...(ddnsHosts.length === 0 ? {} : { ddnsHosts }) });
    context.stdout(`${JSON.stringify(created, null, 2)}\n`);
    context.stderr(`miab-dns01: added client "${name}"; store the password now: it is not kept and cannot be shown again\n`);
    return;
  }
  if (sub === 'list') {
    refuseAddOptions(args, sub);
    if (positionals.length > 0) throw usage('"clients list" takes no arguments');
    const registry = await registryFor(context);
    const lastUse = await registry.lastUse();
    const list = await registry.list();
    for (const client of list) {
      const delegated = client.delegationZone === undefined ? '' : `\tdelegated-to=${client.delegationZone}`;
      const ddns = client.ddnsHosts === undefined || client.ddnsHosts.length === 0 ? '' : `\tddns-hosts=${client.ddnsHosts.join(',')}`;
      context.stdout(`${client.name}\tdomains=${client.domains.join(',')}\tallow-from=${client.allowFrom.join(',') || 'any'}${delegated}${ddns}\tlast-use=${lastUse[client.name] ?? 'never'}\n`);
    }
    if (list.length === 0) context.stderr('miab-dns01: no clients; add one with "miab-dns01 clients add <name> --domain <domain>"\n');
    return;
  }
  if (sub === 'remove') {
    refuseAddOptions(args, sub);
    const [name, extra] = positionals;
    if (name === undefined || extra !== undefined) throw usage('"clients remove" takes one client name');
    await (await registryFor(context)).remove(name);
    context.stderr(`miab-dns01: removed client "${name}"\n`);
    return;
  }
  throw usage(`unknown "clients" subcommand "${sub}"`);
};

