/**
 * The command table: one entry per command with its name, summary, usage and options.
 * Help, `help <command>`, shell completion and the man page are all generated from it, so
 * they cannot disagree. To add a command, add one entry here and its handler's loader in
 * handlers.ts (the type checker asks for it).
 */
import type { CommandSpec } from './command.js';
import { CLIENTS_DETAILS, CLIENTS_OPTIONS, SERVE_DETAILS, SERVE_OPTIONS } from './serve-spec.js';

const RECORD_DETAILS = `<name> is example.com, *.example.com or _acme-challenge.example.com (trailing dot allowed).
<value> is taken verbatim even when it starts with "-"; "--" ends the options.`;

const ENTRIES = [
  {
    name: 'present',
    summary: 'add one TXT value, wait until every authoritative nameserver serves it',
    usage: ['present [--no-wait] <name> <value>'],
    options: [{ name: 'no-wait', takesValue: false, description: 'write the record and return at once' }],
    pairs: () => true,
    details: `${RECORD_DETAILS}\nOn failure after writing (e.g. propagation timeout) the record is removed again.`,
  },
  {
    name: 'cleanup',
    summary: 'remove exactly that value, or the records left by crashed runs (--stale)',
    usage: ['cleanup <name> <value>', 'cleanup --stale [--older-than <dur>] [--dry-run]'],
    options: [
      { name: 'stale', takesValue: false, description: 'remove records whose writer and owner processes are gone' },
      { name: 'older-than', takesValue: true, valueName: '<dur>', description: 'with --stale: also records older than this (90s, 30m, 2h, 1d)' },
      { name: 'dry-run', takesValue: false, description: 'with --stale: list them (name, value, age), change nothing' },
    ],
    pairs: (tokens) => !tokens.includes('--stale'),
    json: true,
    details: RECORD_DETAILS,
  },
  {
    name: 'wait',
    summary: 'wait until every authoritative nameserver serves records written earlier',
    usage: ['wait <name> <value> [<name> <value>...]'],
    options: [],
    pairs: () => true,
    details: RECORD_DETAILS,
  },
  {
    name: 'zones',
    summary: "list the zones the DNS host serves for this account",
    usage: ['zones'],
    options: [],
    json: true,
  },
  {
    name: 'check',
    summary: 'verify configuration and credentials; writes nothing',
    usage: ['check [--login]'],
    options: [
      {
        name: 'login',
        takesValue: false,
        description: 'send one password (+TOTP) login now, even with a cached session or a remembered refused login: verifies the password itself',
      },
    ],
    json: true,
    details: `Without --login a valid cached session is reused (then the password is not tried, and the output says so);
it logs in only when there is none. A refused login is remembered in the state dir for every later process
until the credentials change or an hour passes; --login tries once more now (docs/logins.md).`,
  },
  {
    name: 'logout',
    summary: 'end the cached session on the box and delete it here',
    usage: ['logout'],
    options: [],
  },
  {
    name: 'issue',
    summary: 'get (or renew) a certificate into a directory',
    usage: ['issue -d <name> [-d <name>...] --out <dir> --agree-tos [options]'],
    options: [
      { name: 'domain', short: 'd', takesValue: true, repeatable: true, valueName: '<name>', description: 'a name for the certificate (repeat; *.example.com for a wildcard)' },
      { name: 'out', takesValue: true, valueName: '<dir>', description: 'writes privkey.pem (0600), cert.pem, chain.pem, fullchain.pem' },
      { name: 'server', takesValue: true, valueName: '<url>', description: "ACME directory URL (default: Let's Encrypt production)" },
      { name: 'staging', takesValue: false, description: "Let's Encrypt staging" },
      { name: 'contact', takesValue: true, valueName: '<address>', description: 'contact address for the ACME account' },
      { name: 'email', takesValue: true, valueName: '<address>', hidden: true, description: 'after "issue": old spelling of --contact (deprecated); before "issue": the box account' },
      { name: 'agree-tos', takesValue: false, description: "accept the CA's terms of service (required)" },
      { name: 'key-type', takesValue: true, valueName: '<type>', description: 'ec-p256 (default), ec-p384, rsa-2048, rsa-4096' },
      { name: 'renew-within', takesValue: true, valueName: '<days>', description: 'do nothing while the certificate in --out covers the same names and expires in more than <days> days (or a duration: 30d)' },
      { name: 'deploy-hook', takesValue: true, valueName: '<cmd>', description: 'run through sh after a new certificate is written' },
      { name: 'dry-run', takesValue: false, description: 'a full order against the staging directory (or --server); saves no certificate, runs no deploy hook' },
    ],
    json: true,
    details: `The deploy hook gets MIAB_CERT_DIR, MIAB_CERT_PATH, MIAB_KEY_PATH, MIAB_CHAIN_PATH,
MIAB_FULLCHAIN_PATH, MIAB_DOMAINS (and certbot's RENEWED_LINEAGE, RENEWED_DOMAINS).
The DNS host's account comes from the usual settings (MIAB_EMAIL, or --email before "issue"); --contact is the ACME contact.
A private ACME CA (Pebble) needs NODE_EXTRA_CA_CERTS=<its CA file>.`,
  },
  {
    name: 'help',
    summary: "print a command's help",
    usage: ['help [<command>]'],
    options: [],
    complete: 'commands',
  },
  {
    name: 'completion',
    summary: 'print a shell completion script (bash or zsh)',
    usage: ['completion bash|zsh'],
    options: [],
    complete: 'shells',
    details: `Install for bash:  miab-dns01 completion bash > ~/.local/share/bash-completion/completions/miab-dns01
Install for zsh:   miab-dns01 completion zsh > ~/.zfunc/_miab-dns01   (with fpath+=~/.zfunc before compinit)`,
  },
  {
    name: 'man',
    summary: 'print the manual page (roff)',
    usage: ['man'],
    options: [],
    details: 'Install: miab-dns01 man > ~/.local/share/man/man1/miab-dns01.1',
  },
  {
    name: 'serve',
    summary: 'scoped DNS-01 credentials for remote machines (acme-dns + httpreq protocols)',
    usage: ['serve --listen <host:port> [--tls-cert <pem> --tls-key <pem>] [--audit-log <file>] [--expire-after <dur>] [--trust-proxy <cidr>]...'],
    options: SERVE_OPTIONS,
    details: SERVE_DETAILS,
  },
  {
    name: 'clients',
    summary: "manage serve's clients: one credential per machine, limited to its names and networks",
    usage: ['clients add <name> --domain <domain> [--domain <domain>]... [--allow-from <cidr>]... [--server-url <url>] [--delegation-zone <zone>] [--ddns-host <fqdn>]...', 'clients list', 'clients remove <name>'],
    options: CLIENTS_OPTIONS,
    details: CLIENTS_DETAILS,
  },
  {
    name: 'hook',
    summary: 'run a client hook (what the scripts in hooks/ call)',
    usage: ['hook certbot-auth|certbot-cleanup|lego-exec|dehydrated-hook [<arg>...]'],
    options: [],
    hidden: true,
    complete: 'hooks',
    raw: true,
  },
] as const satisfies readonly CommandSpec[];

/** A command's name, as the table spells it. */
export type CommandName = (typeof ENTRIES)[number]['name'];

export const COMMANDS: readonly (CommandSpec & { readonly name: CommandName })[] = ENTRIES;

export function findCommand(name: string): (CommandSpec & { readonly name: CommandName }) | undefined {
  return COMMANDS.find((command) => command.name === name);
}
