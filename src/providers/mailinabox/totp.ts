/**
 * TOTP codes for the box's password login, without ever waiting for a new 30 s step.
 *
 * The box (mfa.py, pyotp `valid_window=1`) accepts the codes of the previous, current and
 * next step, and refuses only the ONE code it accepted last for that user. So when the
 * current code is spent (by us, as recorded here, or by another client, as a refusal tells
 * us), another code of the window is accepted at once: the next step's, else the previous.
 *
 * The spent code is remembered per box account, in a state file the caller names (the
 * caller holds the login lock around `reserveTotpCode` and the login it is used for).
 */
import { totpCodeAt } from '../../util/totp-code.js';
import { isRecord, readJsonFile, removeFile, writePrivateFile } from '../../state/files.js';

export const TOTP_STEP_SECONDS = 30;

export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_STEP_SECONDS);
}

export function totpCode(secret: string, step: number): string {
  return totpCodeAt(secret, step * TOTP_STEP_SECONDS);
}

interface StepRecord {
  /** The step whose code the box is believed to remember as its last accepted one. */
  readonly lastStep: number;
}

function isStepRecord(value: unknown): value is StepRecord {
  return isRecord(value) && typeof value.lastStep === 'number' && Number.isSafeInteger(value.lastStep);
}

/**
 * The step whose code to send now: the current one, else the next, else the previous,
 * skipping the one code the box would refuse (`spentStep`'s). Codes are compared, not steps:
 * the box compares code strings, and two steps may share a code.
 */
export function chooseTotpStep(secret: string, nowMs: number, spentStep: number | undefined): number {
  const current = totpStep(nowMs);
  // A spent step outside the window (old, or from a clock that went back, or a damaged file)
  // cannot be the code the box would refuse now... unless two steps share a code (1 in 10^6),
  // which costs one refused login, never a wait.
  if (spentStep === undefined || Math.abs(spentStep - current) > 2) return current;
  const spent = totpCode(secret, spentStep);
  // Next before previous: the next step's code stays valid for 90 s, the previous one's
  // for the rest of this step only.
  for (const step of [current, current + 1, current - 1]) {
    if (totpCode(secret, step) !== spent) return step;
  }
  return current; // unreachable: three steps never share one code with a fourth
}

export interface TotpReservation {
  readonly code: string;
  readonly step: number;
  /** True when this is not the current step's code (the current one was spent). */
  readonly skippedSpent: boolean;
  /** The login never reached the box (connection refused, TLS failure): the code is not spent. */
  release(): Promise<void>;
}

export interface TotpSourceOptions {
  readonly secret: string;
  /** File remembering the step of the code the box saw last from this account. */
  readonly stateFile: string;
  readonly now?: () => number;
}

/**
 * A code the box will accept now, recorded as spent BEFORE it is sent: a crash after sending
 * must still count it. A refusal needs no extra bookkeeping: the refused code stays recorded,
 * so the next reservation picks another code of the window.
 */
export async function reserveTotpCode(options: TotpSourceOptions): Promise<TotpReservation> {
  const now = (options.now ?? Date.now)();
  const previous = await readJsonFile(options.stateFile, isStepRecord);
  const step = chooseTotpStep(options.secret, now, previous?.lastStep);
  await writePrivateFile(options.stateFile, JSON.stringify({ lastStep: step }));
  return {
    code: totpCode(options.secret, step),
    step,
    skippedSpent: step !== totpStep(now),
    release: async () => {
      if (previous === undefined) await removeFile(options.stateFile);
      else await writePrivateFile(options.stateFile, JSON.stringify(previous));
    },
  };
}
