/**
 * dehydrated's hook: `deploy_challenge` / `clean_challenge` with one `<domain> <token_file>
 * <token_value>` triple, or several with HOOK_CHAIN=yes (one wait for all of them). Every other
 * handler dehydrated calls must succeed without doing anything.
 */
import { ConfigError } from '../../errors.js';
import { withHookRuntime, type HookContext } from '../context.js';

export function challengeTriples(handler: string, args: readonly string[]): { name: string; value: string }[] {
  if (args.length === 0 || args.length % 3 !== 0) {
    throw new ConfigError('usage', `dehydrated-hook ${handler}: expected <domain> <token_filename> <token_value> triples, got ${args.length} argument(s)`);
  }
  const records: { name: string; value: string }[] = [];
  for (let index = 0; index < args.length; index += 3) records.push({ name: args[index] ?? '', value: args[index + 2] ?? '' });
  return records;
}

export async function dehydratedHook(args: readonly string[], context: HookContext): Promise<void> {
  const [handler = '', ...rest] = args;
  if (handler !== 'deploy_challenge' && handler !== 'clean_challenge') return;
  const records = challengeTriples(handler, rest);
  await withHookRuntime('dehydrated-hook', context, async ({ engine }) => {
    if (handler === 'deploy_challenge') {
      await engine.present(records, { wait: true, signal: context.signal });
    } else {
      for (const record of records) await engine.cleanup(record.name, record.value);
    }
  });
}
