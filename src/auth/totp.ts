/**
 * TOTP codes for the box's password login. The box refuses the code it accepted last
 * (replay protection), so two logins in one 30 s step cannot share a code: we remember the
 * step we used last and, when it is the current one, wait for the next step.
 */
import { generateSync } from 'otplib';
import { isRecord, readJsonFile, writePrivateFile } from '../state/files.js';
import type { Logger } from '../util/log.js';
import { sleep as abortableSleep } from '../util/poll.js';

export const TOTP_STEP_SECONDS = 30;

export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_STEP_SECONDS);
}

export function totpCode(secret: string, step: number): string {
  return generateSync({ secret, epoch: step * TOTP_STEP_SECONDS });
}

interface StepRecord {
  readonly lastStep: number;
}

function isStepRecord(value: unknown): value is StepRecord {
  return isRecord(value) && typeof value.lastStep === 'number';
}

export interface TotpSourceOptions {
  readonly secret: string;
  /** File remembering the last step used; callers hold the login lock around `nextCode`. */
  readonly stateFile: string;
  readonly log: Logger;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly signal?: AbortSignal;
}

/** A code the box has not seen yet from us; waits (and says so) when the current one was used. */
export async function nextTotpCode(options: TotpSourceOptions): Promise<string> {
  const now = options.now ?? Date.now;
  // Abortable: a signal during this wait (up to a minute) stops the run at once.
  const sleep = options.sleep ?? ((ms: number) => abortableSleep(ms, options.signal));
  const previous = await readJsonFile(options.stateFile, isStepRecord);
  let step = totpStep(now());
  // A recorded step beyond the next one means the clock went back (or the file is damaged).
  // The box refuses only the code it saw last, which is not the current step's, so the
  // current code is used: waiting for that far step would not be bounded (hours, or more).
  if (previous !== undefined && previous.lastStep >= step && previous.lastStep <= step + 1) {
    step = previous.lastStep + 1;
    const waitMs = step * TOTP_STEP_SECONDS * 1000 - now() + 50;
    if (waitMs > 0) {
      options.log.info(`the current TOTP code was already used (the box refuses a code twice); waiting ${Math.ceil(waitMs / 1000)} s for the next one`);
      options.signal?.throwIfAborted();
      await sleep(waitMs);
    }
  }
  // Recorded before use: a crash after sending must still count the code as spent.
  await writePrivateFile(options.stateFile, JSON.stringify({ lastStep: step }));
  return totpCode(options.secret, step);
}
