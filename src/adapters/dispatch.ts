/** `miab-dns01 hook <client> ...`: what the scripts in hooks/ run. */
import { ConfigError } from '../errors.js';
import type { HookContext } from './context.js';

export async function runHook(args: readonly string[], context: HookContext): Promise<void> {
  const [adapter, ...rest] = args;
  switch (adapter) {
    case 'certbot-auth':
      return (await import('./certbot/index.js')).certbotAuth(context);
    case 'certbot-cleanup':
      return (await import('./certbot/index.js')).certbotCleanup(context);
    case 'lego-exec':
      return (await import('./lego/index.js')).legoExec(rest, context);
    case 'dehydrated-hook':
      return (await import('./dehydrated/index.js')).dehydratedHook(rest, context);
    case 'acmesh':
      return (await import('./acmesh/index.js')).acmeShHook(rest, context);
    default:
      throw new ConfigError('usage', `unknown hook ${JSON.stringify(adapter ?? '')}; the hooks are certbot-auth, certbot-cleanup, lego-exec, dehydrated-hook and acmesh`);
  }
}
