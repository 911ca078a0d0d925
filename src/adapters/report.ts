/**
 * The one mapping from a failure to its exit status and error line, for the CLI (cli/run.ts)
 * and for the run agent's certbot calls, which do not go through the CLI.
 */
import { MiabDns01Error } from '../errors.js';
import { redact } from '../secrets.js';

/** Prints `<prefix>: error [code]: message` (and the JSON error when asked) and returns the exit status. */
export function reportFailure(error: unknown, signal: AbortSignal, stderr: (text: string) => void, jsonOut: ((text: string) => void) | undefined, prefix: string): number {
  const interrupted = signal.aborted && signal.reason instanceof MiabDns01Error ? signal.reason : undefined;
  const failure = error instanceof MiabDns01Error ? error : interrupted;
  if (failure !== undefined) {
    stderr(`${prefix}: error [${failure.code}]: ${failure.message}\n`);
    jsonOut?.(`${JSON.stringify({ error: { code: failure.code, message: redact(failure.message) } }, null, 2)}\n`);
    return interrupted?.exitCode ?? failure.exitCode;
  }
  // Not one of ours: a bug. Say so plainly, without a stack trace unless debugging.
  const message = error instanceof Error ? error.message : String(error);
  stderr(`${prefix}: unexpected error: ${message}\n${process.env.MIAB_DEBUG === '1' && error instanceof Error ? `${error.stack ?? ''}\n` : ''}`);
  jsonOut?.(`${JSON.stringify({ error: { code: 'unexpected', message: redact(message) } }, null, 2)}\n`);
  return 1;
}
