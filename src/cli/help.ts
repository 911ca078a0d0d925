/**
 * Help, shell completion and the man page, all generated from the command table (table.ts)
 * and the global options (args.ts), so that they always agree with what the parser accepts.
 */
import { ConfigError } from '../errors.js';
import { CONNECTION_OPTIONS, GLOBAL_OPTIONS, OUTPUT_OPTIONS, usageError, type OptionSpec } from './args.js';
import type { CommandHandler, CommandSpec } from './command.js';
import { COMMANDS, findCommand } from './table.js';

const ENVIRONMENT = `Settings (flag > environment > credentials file):
  MIAB_DNS01_PROVIDER               mailinabox (default), cpanel, or serve (--provider; file key: provider)
  MIAB_URL, MIAB_EMAIL              the box and an admin account (--url, --email)
  MIAB_PASSWORD[_FILE]              its password (never as a flag)
  MIAB_TOTP_SECRET[_FILE]           base32 TOTP secret, when 2FA is on
  MIAB_CONFIG                       credentials file (--config): key = value lines, chmod 600
  MIAB_STATE_DIR, MIAB_CA_FILE, MIAB_TLS_FINGERPRINT, MIAB_SYSTEM_KEY_FILE
  MIAB_NAMESERVERS, MIAB_DNS_RESOLVERS, MIAB_DNS_PORT
  MIAB_PROPAGATION_TIMEOUT          seconds or a duration (default 300)
  MIAB_PROPAGATION_WAIT             seconds or a duration: sleep instead of checking
  MIAB_DEBUG=1                      as --debug
  MIAB_DNS01_AGENT=0                certbot hooks: no run agent; each call does its own work
cPanel (--provider cpanel):
  CPANEL_BASE_URL, CPANEL_USERNAME  the server (https://host:2083) and the account
  CPANEL_TOKEN[_FILE]               an API token with the Zone Editor feature, or
  CPANEL_PASSWORD[_FILE]            the password, with CPANEL_TOTP_SECRET[_FILE] when 2FA is on
  CPANEL_AUTH                       token | otp-header | session (default: token if a token is set)
  CPANEL_CA_FILE, CPANEL_TLS_FINGERPRINT`;

const EXIT_CODES = `Exit codes: 0 success, 1 operation failed, 2 usage or configuration error (nothing written),
            128+N stopped by signal N (after removing what was written).`;

function optionLabel(option: OptionSpec): string {
  const long = `--${option.name}${option.takesValue ? ` ${option.valueName ?? '<value>'}` : ''}`;
  return option.short ? `-${option.short}, ${long}` : long;
}

function optionLines(options: readonly OptionSpec[]): string[] {
  const width = Math.max(...options.map((option) => optionLabel(option).length)) + 2;
  return options.map((option) => `  ${optionLabel(option).padEnd(width)}${option.description ?? ''}`);
}

const visible = (): CommandSpec[] => COMMANDS.filter((command) => !command.hidden);

export function mainHelp(): string {
  return [
    'miab-dns01: ACME DNS-01 challenges on a Mail-in-a-Box box (TOTP supported)',
    '',
    'Usage: miab-dns01 [global options] <command> [options] [arguments]',
    '',
    'Commands:',
    ...visible().flatMap((command) => [...command.usage.map((line) => `  miab-dns01 ${line}`), `      ${command.summary}`]),
    '',
    'Global options (before or after the command):',
    ...optionLines([...GLOBAL_OPTIONS, { name: 'version', short: 'V', takesValue: false, description: 'print the version' }]),
    '',
    ENVIRONMENT,
    '',
    'Run "miab-dns01 help <command>" (or "miab-dns01 <command> --help") for a command\'s options.',
    EXIT_CODES,
    '',
  ].join('\n');
}

export function commandHelp(command: CommandSpec): string {
  const own = command.options.filter((option) => !option.hidden || option.name === 'email');
  return [
    ...command.usage.map((line, index) => `${index === 0 ? 'Usage: ' : '       '}miab-dns01 ${line}`),
    '',
    command.summary,
    ...(own.length > 0 ? ['', 'Options:', ...optionLines(own)] : []),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    ...(command.details ? ['', command.details] : []),
    '',
  ].join('\n');
}

/** `help` or `help <command>`. */
export const helpCommand: CommandHandler = async (args, context) => {
  const [name, ...extra] = args.positionals;
  if (extra.length > 0) throw usageError('"help" takes at most one command name', 'help');
  if (name === undefined) {
    context.stdout(mainHelp());
    return;
  }
  const command = findCommand(name);
  if (command === undefined) throw usageError(`unknown command "${name}"`);
  context.stdout(commandHelp(command));
};

function allOptionWords(command: CommandSpec | undefined): string[] {
  const options = [...(command?.options ?? []).filter((option) => !option.hidden), ...GLOBAL_OPTIONS];
  return options.flatMap((option) => [`--${option.name}`, ...(option.short ? [`-${option.short}`] : [])]);
}

function valueOptions(): string[] {
  const all = [...GLOBAL_OPTIONS, ...COMMANDS.flatMap((command) => command.options)];
  return [...new Set(all.filter((option) => option.takesValue).flatMap((option) => [`--${option.name}`, ...(option.short ? [`-${option.short}`] : [])]))];
}

const FILE_OPTIONS = new Set(['config', 'ca-file', 'system-key-file']);
const DIR_OPTIONS = new Set(['state-dir', 'out']);
const HOOK_NAMES = 'certbot-auth certbot-cleanup lego-exec dehydrated-hook';

function positionalWords(command: CommandSpec): string {
  if (command.complete === 'commands') return COMMANDS.filter((entry) => !entry.hidden).map((entry) => entry.name).join(' ');
  if (command.complete === 'shells') return 'bash zsh';
  if (command.complete === 'hooks') return HOOK_NAMES;
  return '';
}

export function bashCompletion(): string {
  const commands = visible().map((command) => command.name).join(' ');
  const cases = visible()
    .map((command) => `    ${command.name}) opts="${allOptionWords(command).join(' ')}"; words="${positionalWords(command)}" ;;`)
    .join('\n');
  const files = [...FILE_OPTIONS].map((name) => `--${name}`).join('|');
  const dirs = [...DIR_OPTIONS].map((name) => `--${name}`).join('|');
  return `# bash completion for miab-dns01, generated by "miab-dns01 completion bash"
_miab_dns01() {
  local cur prev cmd i opts words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    ${files}) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
    ${dirs}) COMPREPLY=( $(compgen -d -- "$cur") ); return ;;
    ${valueOptions().filter((word) => !FILE_OPTIONS.has(word.replace(/^--/, '')) && !DIR_OPTIONS.has(word.replace(/^--/, ''))).join('|')}) return ;;
  esac
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${valueOptions().join('|')}) ((i++)) ;;
      -*) ;;
      *) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  opts="${allOptionWords(undefined).join(' ')} --version"
  words="${commands}"
  case "$cmd" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  fi
}
complete -F _miab_dns01 miab-dns01
`;
}

function zshSpec(option: OptionSpec): string[] {
  const description = (option.description ?? '').replace(/[[\]:]/g, ' ').replace(/'/g, "'\\''");
  const action = option.takesValue ? `:${(option.valueName ?? 'value').replace(/[<>]/g, '')}:${FILE_OPTIONS.has(option.name) ? '_files' : DIR_OPTIONS.has(option.name) ? '_directories' : ' '}` : '';
  const names = option.short ? [`--${option.name}`, `-${option.short}`] : [`--${option.name}`];
  return names.map((name) => `'${option.repeatable ? '*' : ''}${name}[${description}]${action}'`);
}

export function zshCompletion(): string {
  const commandList = visible()
    .map((command) => `    '${command.name}:${command.summary.replace(/:/g, ' ').replace(/'/g, "'\\''")}'`)
    .join('\n');
  const cases = visible()
    .map((command) => {
      const words = positionalWords(command);
      const specs = [...command.options.filter((option) => !option.hidden), ...GLOBAL_OPTIONS].flatMap(zshSpec);
      return `    ${command.name})\n      _arguments -s ${specs.join(' ')}${words ? ` '*:argument:(${words})'` : " '*:argument: '"} ;;`;
    })
    .join('\n');
  return `#compdef miab-dns01
# zsh completion for miab-dns01, generated by "miab-dns01 completion zsh"
_miab_dns01() {
  local context state state_descr line
  local -a commands
  commands=(
${commandList}
  )
  local i cmd=""
  for ((i = 2; i < CURRENT; i++)); do
    case "\${words[i]}" in
      ${valueOptions().join('|')}) ((i++)) ;;
      -*) ;;
      *) cmd="\${words[i]}"; break ;;
    esac
  done
  if [[ -z "$cmd" ]]; then
    _arguments -s ${GLOBAL_OPTIONS.flatMap(zshSpec).join(' ')} '(-V --version)'{-V,--version}'[print the version]' '1:command:->command'
    [[ "$state" == command ]] && _describe 'command' commands
    return
  fi
  shift $((i - 1)) words
  ((CURRENT -= i - 1))
  case "$cmd" in
${cases}
  esac
}
# Installed in $fpath this file is the completion function itself; sourced, it registers one.
if [[ "\${funcstack[1]}" == _miab-dns01 ]]; then
  _miab_dns01 "$@"
else
  compdef _miab_dns01 miab-dns01
fi
`;
}

/** `completion bash|zsh`. */
export const completionCommand: CommandHandler = async (args, context) => {
  const [shell, ...extra] = args.positionals;
  if (extra.length > 0 || (shell !== 'bash' && shell !== 'zsh')) throw usageError('"completion" takes one shell name: bash or zsh', 'completion');
  context.stdout(shell === 'bash' ? bashCompletion() : zshCompletion());
};

function roff(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/^([.'])/gm, '\\&$1').replace(/-/g, '\\-');
}

function manOptions(options: readonly OptionSpec[]): string[] {
  return options.flatMap((option) => ['.TP', `.B ${roff(optionLabel(option))}`, roff(option.description ?? '')]);
}

export function manPage(version: string): string {
  return [
    `.TH MIAB-DNS01 1 "" "miab-dns01 ${version}" "User Commands"`,
    '.SH NAME',
    'miab\\-dns01 \\- ACME DNS\\-01 challenges on a Mail\\-in\\-a\\-Box box',
    '.SH SYNOPSIS',
    ...visible().flatMap((command) => command.usage.map((line) => `.B miab\\-dns01\n${roff(line)}\n.br`)),
    '.SH COMMANDS',
    ...visible().flatMap((command) => [
      '.TP',
      `.B ${roff(command.name)}`,
      roff(command.summary),
      ...(command.options.length > 0 ? ['.RS', ...manOptions(command.options.filter((option) => !option.hidden || option.name === 'email')), '.RE'] : []),
      ...(command.details ? ['.IP', roff(command.details).replace(/\n/g, '\n.br\n')] : []),
    ]),
    '.SH GLOBAL OPTIONS',
    'Accepted before or after the command.',
    ...manOptions([...CONNECTION_OPTIONS, ...OUTPUT_OPTIONS]),
    '.SH ENVIRONMENT',
    '.nf',
    roff(ENVIRONMENT),
    '.fi',
    '.SH EXIT STATUS',
    roff(EXIT_CODES),
    '',
  ].join('\n');
}

/** `man`: the manual page in roff, for `man -l -` or a man1 directory. */
export const manCommand: CommandHandler = async (args, context) => {
  if (args.positionals.length > 0) throw new ConfigError('usage', '"man" takes no arguments');
  const { version } = await import('./version.js');
  context.stdout(manPage(version()));
};
