/**
 * `miab-dns01 clients add|list|remove`: manages the registry `serve` authenticates against.
 * Needs only the state dir (no box credentials): it can run before the box is configured.
 * `add` prints the password once, in the JSON that lego, cert-manager and Caddy read.
 */
import { ConfigError, MiabDns01Error } from '../errors.js';
import { collectSettings } from '../config/settings.js';
import { resolveStateDir } from '../config/config.js';
import { parseCidr } from '../serve/cidr.js';
import { ClientRegistry } from '../serve/registry.js';
import { parseArgs, single, type OptionSpec, type ParsedArgs } from './args.js';
import { flagSettings, type Command, type CommandContext } from './commands.js';

export const CLIENTS_HELP = `miab-dns01 clients: credentials for "miab-dns01 serve", one per machine

Usage:
  miab-dns01 clients add <name> --domain <domain> [--domain <domain>]...
                         [--allow-from <cidr>]... [--server-url <url>]
                         [--delegation-zone <box zone>]
  miab-dns01 clients list
  miab-dns01 clients remove <name>

add     creates a client allowed to write _acme-challenge.<domain> (apex and wildcard) for
        each --domain, from the --allow-from ranges only (default: anywhere), and prints ONE
        JSON document with its password: the only time it is shown. Its "acme_dns" member is
        the storage map lego (ACME_DNS_STORAGE_PATH), cert-manager and Caddy read as-is;
        "server_url" is --server-url (the URL clients reach serve at).
        --delegation-zone: the domains are NOT on the box; each one's values go to
        _acme-challenge.<subdomain>.<box zone> (its "fulldomain"), and you point
        _acme-challenge.<domain> there with a CNAME in the domain's own DNS, as with acme-dns.
list    names, domains, networks and last use (never a secret)
remove  the client is refused at once, also by a running serve

The registry is <MIAB_STATE_DIR>/serve/clients.json (mode 0600, password hashes only); use
the same --state-dir / MIAB_STATE_DIR as serve.
`;

const ADD_OPTIONS: readonly OptionSpec[] = [
  { name: 'domain', takesValue: true, repeatable: true },
  { name: 'allow-from', takesValue: true, repeatable: true },
  { name: 'server-url', takesValue: true },
  { name: 'delegation-zone', takesValue: true },
];

async function registryFor(args: ParsedArgs, context: CommandContext): Promise<ClientRegistry> {
  const settings = await collectSettings({ env: context.env, flags: flagSettings(args), configFile: single(args, 'config') });
  return new ClientRegistry(resolveStateDir(settings.MIAB_STATE_DIR, context.env));
}

function usage(message: string): ConfigError {
  return new ConfigError('usage', `${message}; see "miab-dns01 clients --help"`);
}

/** File-system failures (read-only or missing state dir) as a configuration error, not a crash. */
function stateDirError(error: unknown): never {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  if (error instanceof Error && !(error instanceof MiabDns01Error) && code !== undefined) {
    throw new ConfigError('config-invalid', `cannot use the client registry under MIAB_STATE_DIR (${error.message}); use a writable --state-dir, the same as serve's`);
  }
  throw error;
}

const clients: Command = (tokens, context) => runClients(tokens, context).catch(stateDirError);

const runClients: Command = async (tokens, context) => {
  const [sub, ...rest] = tokens;
  if (sub === undefined || sub === '--help' || rest.includes('--help')) {
    if (sub === undefined) throw usage('"clients" needs add, list or remove');
    context.stdout(CLIENTS_HELP);
    return;
  }
  if (sub === 'add') {
    const args = parseArgs(rest, ADD_OPTIONS, false);
    const [name, extra] = args.positionals;
    if (name === undefined || extra !== undefined) throw usage('"clients add" takes one client name');
    const serverUrl = single(args, 'server-url') ?? '';
    if (serverUrl !== '' && !/^https?:\/\/[^\s/]+/.test(serverUrl)) throw usage(`--server-url takes a URL such as https://certs.example.com:8443 (got ${JSON.stringify(serverUrl)})`);
    const allowFrom = (args.options.get('allow-from') ?? []).map((cidr) => parseCidr(cidr, '--allow-from'));
    const registry = await registryFor(args, context);
    const delegationZone = single(args, 'delegation-zone');
    const created = await registry.add({ name, domains: args.options.get('domain') ?? [], allowFrom, serverUrl, ...(delegationZone === undefined ? {} : { delegationZone }) });
    context.stdout(`${JSON.stringify(created, null, 2)}\n`);
    context.stderr(`miab-dns01: added client "${name}"; store the password now: it is not kept and cannot be shown again\n`);
    return;
  }
  if (sub === 'list') {
    const args = parseArgs(rest, [], false);
    if (args.positionals.length > 0) throw usage('"clients list" takes no arguments');
    const registry = await registryFor(args, context);
    const lastUse = await registry.lastUse();
    const list = await registry.list();
    for (const client of list) {
      const delegated = client.delegationZone === undefined ? '' : `\tdelegated-to=${client.delegationZone}`;
      context.stdout(`${client.name}\tdomains=${client.domains.join(',')}\tallow-from=${client.allowFrom.join(',') || 'any'}${delegated}\tlast-use=${lastUse[client.name] ?? 'never'}\n`);
    }
    if (list.length === 0) context.stderr('miab-dns01: no clients; add one with "miab-dns01 clients add <name> --domain <domain>"\n');
    return;
  }
  if (sub === 'remove') {
    const args = parseArgs(rest, [], false);
    const [name, extra] = args.positionals;
    if (name === undefined || extra !== undefined) throw usage('"clients remove" takes one client name');
    await (await registryFor(args, context)).remove(name);
    context.stderr(`miab-dns01: removed client "${name}"\n`);
    return;
  }
  throw usage(`unknown "clients" subcommand "${sub}"`);
};

export default clients;
