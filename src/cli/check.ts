/**
 * `check [--login]`: verifies configuration and credentials against the DNS host and says which
 * credential the host accepted. Without `--login` a cached session is reused and the password is
 * NOT tried (a changed password would show only once the session ends, perhaps mid-renewal), and
 * the output says so; `--login` sends one password (+TOTP) login now. Writes no record.
 */
import { contextLogger, withRuntime } from '../adapters/context.js';
import { formatServer } from '../propagation/address.js';
import type { ProviderCheck } from '../providers/provider.js';
import { flag, usageError } from './args.js';
import type { CommandContext, CommandHandler } from './command.js';

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** The `session:` line: what was reused or sent, never "0 logins". */
export function describeSession(result: Pick<ProviderCheck, 'session' | 'facts'>): string | undefined {
  const { session } = result;
  if (session === undefined) return undefined;
  if (session.reused || session.logins === 0) return 'reused the cached session; the password was not tried ("miab-dns01 check --login" tries it)';
  const with2fa = result.facts.totp === true ? ' and a TOTP code' : '';
  return `logged in with the password${with2fa} (${plural(session.logins, 'login')})`;
}

function verdict(result: ProviderCheck): string {
  if (result.verified === 'session') return 'OK: configuration and the cached session work (the password was not tried); nothing was written';
  return 'OK: configuration and credentials work; nothing was written';
}

function printJson(context: CommandContext, value: unknown): void {
  context.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

export const check: CommandHandler = async (args, context) => {
  const [extra] = args.positionals;
  if (extra !== undefined) throw usageError(`"check" takes no arguments (got ${JSON.stringify(extra)})`, 'check');
  const login = flag(args, 'login');
  await withRuntime(context, contextLogger(context), async (runtime) => {
    const { config, propagation, provider } = runtime;
    const result = await provider.check({ login });
    const { session } = result;
    if (context.json) {
      printJson(context, {
        ok: true,
        provider: provider.name,
        [result.server.label]: result.server.url,
        authMode: result.authMode,
        account: result.account,
        ...result.facts,
        session: session === undefined ? undefined : session.reused ? 'reused' : 'logged-in',
        logins: session?.logins,
        verified: result.verified,
        stateDir: config.stateDir,
        zones: result.zones,
        // null: discovered from each zone's NS records.
        nameservers: propagation.nameservers ? propagation.nameservers.map(formatServer) : null,
      });
      return;
    }
    const sessionLine = describeSession(result);
    const lines = [
      `provider:   ${provider.name}`,
      `${`${result.server.label}:`.padEnd(12)}${result.server.url}`,
      `auth mode:  ${result.authMode}`,
      `account:    ${result.accountText}`,
      ...(sessionLine === undefined ? [] : [`session:    ${sessionLine}`]),
      `state dir:  ${config.stateDir}`,
      `zones:      ${result.zones.join(', ') || '(none)'}`,
      `nameservers: ${propagation.nameservers ? propagation.nameservers.map(formatServer).join(', ') : "discovered from each zone's NS records"}`,
      verdict(result),
    ];
    if (!context.quiet) context.stdout(`${lines.join('\n')}\n`);
  });
};
