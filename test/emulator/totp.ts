/**
 * TOTP exactly as Mail-in-a-Box's mfa.py checks it (pyotp defaults): SHA-1, 6 digits,
 * 30 s steps, base32 secret. Written on node:crypto rather than otplib so the emulator's
 * verdicts cannot drift with the library the client under test uses; the tests cross-check
 * both against each other.
 */
import { createHmac } from 'node:crypto';

export const TOTP_STEP_MS = 30_000;
const DIGITS = 6;
const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * RFC 4648 base32, case-insensitive, padding optional (pyotp pads the secret itself before
 * `b32decode(casefold=True)`). Throws on characters outside the alphabet, as Python does.
 */
export function base32Decode(secret: string): Uint8Array {
  const clean = secret.toUpperCase().replace(/=+$/, '');
  let bits = 0;
  let accumulator = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = BASE32_ALPHABET.indexOf(char);
    if (index < 0) throw new Error(`invalid base32 character ${JSON.stringify(char)} in TOTP secret`);
    accumulator = (accumulator << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((accumulator >>> bits) & 0xff);
    }
  }
  return new Uint8Array(out);
}

/** The 30 s time step counter for a clock reading in ms. */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / TOTP_STEP_MS);
}

/** The code for one time-step counter (RFC 4226 dynamic truncation). */
export function totpAtStep(secret: string, step: number): string {
  const counter = new Uint8Array(8);
  new DataView(counter.buffer).setBigUint64(0, BigInt(step));
  const digest = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = (digest[digest.length - 1] ?? 0) & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** DIGITS).padStart(DIGITS, '0');
}

/** The code an authenticator app shows at `nowMs`. */
export function currentTotp(secret: string, nowMs: number): string {
  return totpAtStep(secret, totpStep(nowMs));
}

/**
 * pyotp's `TOTP.verify(token, valid_window=1)`: exact string comparison against the codes of
 * the previous, current and next steps. (Replay protection is the caller's business.)
 */
export function verifyTotp(secret: string, token: string, nowMs: number, window = 1): boolean {
  const step = totpStep(nowMs);
  for (let delta = -window; delta <= window; delta++) {
    if (totpAtStep(secret, step + delta) === token) return true;
  }
  return false;
}
