/**
 * acme.sh's dnsapi calls, as hooks/dns_miab_dns01.sh forwards them: `add|rm <fulldomain>
 * <txtvalue>`. acme.sh's fulldomain is the exact record name: `_acme-challenge.<domain>`, or
 * with `--challenge-alias` `_acme-challenge.<alias>`, or with `--domain-alias` the alias itself
 * (any name). It is used verbatim, never with `_acme-challenge.` added in front.
 */
import { ConfigError } from '../../errors.js';
import { withHookRuntime, type HookContext } from '../context.js';

export function parseAcmeShArgs(args: readonly string[]): { action: 'add' | 'rm'; name: string; value: string } {
  const [action, ...rest] = args;
  const operands = rest[0] === '--' ? rest.slice(1) : rest;
  if ((action !== 'add' && action !== 'rm') || operands.length !== 2) {
    throw new ConfigError('usage', `acmesh hook: expected "add|rm <fulldomain> <txtvalue>", got ${JSON.stringify(args.join(' '))}`);
  }
  const [name = '', value = ''] = operands;
  return { action, name, value };
}

export async function acmeShHook(args: readonly string[], context: HookContext): Promise<void> {
  const call = parseAcmeShArgs(args);
  await withHookRuntime('dns_miab_dns01', context, async ({ engine }) => {
    if (call.action === 'add') await engine.present([{ name: call.name, value: call.value, exactName: true }], { wait: true, signal: context.signal });
    else await engine.cleanup(call.name, call.value, { exactName: true });
  });
}
