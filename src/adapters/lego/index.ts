/**
 * lego's `exec` provider. Default mode: `present|cleanup <fqdn> <value>`, where fqdn (with a
 * trailing dot) is the exact record name: lego has already followed any CNAME at
 * `_acme-challenge.<domain>`, so it may be the delegation target (`x.acme.other.test.`) and is
 * used verbatim. EXEC_MODE=RAW: `present|cleanup -- <domain> <token> <keyAuth>`, where the
 * record goes to `_acme-challenge.<domain>` (CNAMEs followed by us) and the TXT value is
 * computed from the key authorization. lego runs present, validation and cleanup domain after
 * domain, so `present` returns only once every nameserver serves the value.
 */
import { txtValueFromKeyAuthorization } from '../../challenge/names.js';
import { ConfigError } from '../../errors.js';
import { withHookRuntime, type HookContext } from '../context.js';

interface LegoCall {
  readonly action: 'present' | 'cleanup';
  readonly name: string;
  readonly value: string;
  /** `name` is the record name itself (default mode), not a domain (RAW mode). */
  readonly exactName: boolean;
}

export function parseLegoArgs(args: readonly string[], rawMode: boolean): LegoCall | undefined {
  const [action, ...rest] = args;
  // Old lego versions ask for timeouts this way; the answer is optional, exit 0 is enough.
  if (action === 'timeout') return undefined;
  if (action !== 'present' && action !== 'cleanup') {
    throw new ConfigError('usage', `lego-exec: unknown action ${JSON.stringify(action ?? '')}; lego calls "present" or "cleanup"`);
  }
  const operands = rest[0] === '--' ? rest.slice(1) : rest;
  if (rawMode) {
    if (operands.length !== 3) throw new ConfigError('usage', `lego-exec (EXEC_MODE=RAW): expected "${action} -- <domain> <token> <keyAuth>", got ${operands.length} argument(s)`);
    const [domain = '', , keyAuthorization = ''] = operands;
    return { action, name: domain, value: txtValueFromKeyAuthorization(keyAuthorization), exactName: false };
  }
  if (operands.length !== 2) throw new ConfigError('usage', `lego-exec: expected "${action} <fqdn> <value>", got ${operands.length} argument(s)`);
  const [name = '', value = ''] = operands;
  return { action, name, value, exactName: true };
}

export async function legoExec(args: readonly string[], context: HookContext): Promise<void> {
  const call = parseLegoArgs(args, context.env.EXEC_MODE === 'RAW');
  if (call === undefined) return;
  await withHookRuntime('lego-exec', context, async ({ engine }) => {
    if (call.action === 'present') await engine.present([call], { wait: true, signal: context.signal });
    else await engine.cleanup(call.name, call.value, { exactName: call.exactName });
  });
}
