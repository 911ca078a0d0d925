/**
 * certbot manual hooks. certbot runs the auth hook once per challenge, sequentially, and
 * answers all challenges after the last one; it does no DNS check itself. So every call writes
 * its record, and only the last (CERTBOT_REMAINING_CHALLENGES=0) waits, for every record of
 * the run at once: an N-name certificate costs one wait.
 */
import { ConfigError } from '../../errors.js';
import { redact } from '../../secrets.js';
import { withHookRuntime, type HookContext, type RuntimePool } from '../context.js';
import { reportFailure } from '../report.js';
import { certbotRunOwner, type CertbotHook } from './policy.js';

/**
 * The records belong to certbot's run, even when a wrapper script of the user's runs the hook
 * (the last call waits for every record of the run). In the run agent, the agent knows the run.
 */
function certbotRun(context: HookContext): HookContext {
  if (context.runtimes !== undefined || context.ownerPid !== undefined) return context;
  const ownerPid = certbotRunOwner();
  return ownerPid === undefined ? context : { ...context, ownerPid };
}

function required(context: HookContext, name: string): string {
  const value = context.env[name];
  if (value === undefined || value === '') {
    throw new ConfigError('usage', `${name} is not set: this hook must be run by certbot (--manual-auth-hook / --manual-cleanup-hook)`);
  }
  return value;
}

export async function certbotAuth(context: HookContext): Promise<void> {
  const domain = required(context, 'CERTBOT_DOMAIN');
  const value = required(context, 'CERTBOT_VALIDATION');
  const remaining = Number(context.env.CERTBOT_REMAINING_CHALLENGES ?? '0');
  await withHookRuntime('certbot-auth', certbotRun(context), async ({ engine }, log) => {
    await engine.present([{ name: domain, value }], { wait: false, signal: context.signal });
    if (remaining > 0) {
      log.info(`${remaining} more challenge(s) to come; waiting for propagation after the last one`);
      return;
    }
    // Every record this certbot run wrote, journaled under certbot's PID by earlier calls.
    // certbot would answer the challenges anyway: a failed wait takes the records back.
    await engine.waitOrRemove(await engine.recordsOfThisRun(), context.signal);
  });
}

export async function certbotCleanup(context: HookContext): Promise<void> {
  const domain = required(context, 'CERTBOT_DOMAIN');
  const value = required(context, 'CERTBOT_VALIDATION');
  await withHookRuntime('certbot-cleanup', certbotRun(context), async ({ engine }) => {
    await engine.cleanup(domain, value);
  });
}

/** What a certbot call run in a long-lived process (the run agent) is given. */
export interface CertbotCall {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly runtimes: RuntimePool;
}

/**
 * Runs one certbot hook call as `miab-dns01 hook <hook>` would, without the CLI's parser (a
 * certbot call has no options): the same context, the same redacted error line and exit status.
 */
export async function runCertbotCall(hook: CertbotHook, call: CertbotCall): Promise<number> {
  const stderr = (text: string): void => call.stderr(redact(text));
  const context: HookContext = { env: call.env, signal: call.signal, stdout: call.stdout, stderr, flags: {}, configFile: undefined, debug: false, quiet: false, runtimes: call.runtimes };
  try {
    await (hook === 'certbot-auth' ? certbotAuth(context) : certbotCleanup(context));
    return 0;
  } catch (error) {
    return reportFailure(error, call.signal, stderr, undefined, `miab-dns01 ${hook}`);
  }
}
