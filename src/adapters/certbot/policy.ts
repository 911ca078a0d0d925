/**
 * certbot's run policy, in one place for the executable, the run agent and the hooks: which
 * calls are certbot's, whose run their records belong to, and which calls the agent may answer
 * before their work is done. Kept light (no runtime): the executable reads it on every start.
 */
import { findCertbotPid } from '../../state/processes.js';

export type CertbotHook = 'certbot-auth' | 'certbot-cleanup';

/** Which certbot hook a command line is (`hook certbot-auth`, `hook certbot-cleanup`), if it is one. */
export function certbotHook(argv: readonly string[]): CertbotHook | undefined {
  if (argv.length !== 2 || argv[0] !== 'hook') return undefined;
  const [, hook] = argv;
  return hook === 'certbot-auth' || hook === 'certbot-cleanup' ? hook : undefined;
}

/**
 * The run's owner: certbot's process, even when a wrapper script of the user's runs the hook
 * (the last auth call waits for every record of the run). Undefined when no certbot is found.
 */
export function certbotRunOwner(): number | undefined {
  return findCertbotPid();
}

/**
 * Whether a certbot call may be queued (answered at once, its work done later): every auth
 * call but the run's last, and every clean-up call but the last (certbot gives each clean-up
 * call the variables of its auth call, so CERTBOT_REMAINING_CHALLENGES counts down to 0
 * again). Not when debugging: then each call prints its steps when it runs, in order. Not a
 * clean-up call while a queued call's failure is held: that call runs at once and prints it
 * (certbot stopped before its last auth call).
 */
export function isDeferred(hook: CertbotHook, env: Readonly<Record<string, string | undefined>>, options: { readonly failureHeld: boolean; readonly debug: boolean }): boolean {
  if (hook === 'certbot-cleanup' && options.failureHeld) return false;
  return Number(env.CERTBOT_REMAINING_CHALLENGES ?? '0') > 0 && !options.debug;
}
