/**
 * One-time codes for cPanel that never repeat the code the server accepted last, without ever
 * waiting: the server accepts the previous, current and next 30 s step, so when the current
 * step's code was the last one sent we send the next step's code at once (and the current one
 * again after that). The last step sent is kept in a 0600 state file shared by every process of
 * the account; callers hold the account's OTP lock from picking the code until the server has
 * answered, so the order codes reach the server is the order they were picked.
 *
 * GUESS (cpanel-api.md: undocumented): cPanel refuses at most the code it accepted last, as
 * Mail-in-a-Box does. A server refusing every code seen in the window would allow only three
 * requests per 30 s.
 */
import { totpCodeAt } from '../../util/totp-code.js';
import { isRecord, readJsonFile, writePrivateFile } from '../../state/files.js';

const STEP_MS = 30_000;

export function totpAt(secret: string, step: number): string {
  return totpCodeAt(secret, step * (STEP_MS / 1000));
}

interface StepRecord {
  readonly lastStep: number;
}

function isStepRecord(value: unknown): value is StepRecord {
  return isRecord(value) && typeof value.lastStep === 'number';
}

/** A code that differs from the one sent last; recorded as sent before it is used. */
export async function nextOtp(secret: string, stateFile: string, now: () => number = Date.now): Promise<string> {
  const previous = await readJsonFile(stateFile, isStepRecord);
  const current = Math.floor(now() / STEP_MS);
  const lastCode = previous === undefined ? undefined : totpAt(secret, previous.lastStep);
  // The current step first; the next one when the current code is the one spent last.
  const step = [current, current + 1].find((candidate) => totpAt(secret, candidate) !== lastCode) ?? current + 1;
  // Written before sending: a crash after the request must still count the code as spent.
  await writePrivateFile(stateFile, JSON.stringify({ lastStep: step }));
  return totpAt(secret, step);
}
