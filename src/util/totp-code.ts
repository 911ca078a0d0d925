/**
 * The one place a TOTP code is computed, for every provider. otplib 13 refuses secrets under
 * 128 bits by default (RFC 4226's recommendation), but authenticator apps and cPanel commonly
 * issue 80-bit secrets (16 base32 characters, as cPanel's own guide shows): its documented
 * guardrail lowers the floor to 10 bytes. Shorter secrets are refused earlier, with a clear
 * message, by `normalizeTotpSecret` (credential-formats.ts). Loaded only for a login: a hook call
 * with a cached session never needs otplib.
 */
import { createGuardrails, generateSync } from 'otplib';

/** The shortest secret accepted, in bytes (16 base32 characters). */
export const MIN_TOTP_SECRET_BYTES = 10;

const GUARDRAILS = createGuardrails({ MIN_SECRET_BYTES: MIN_TOTP_SECRET_BYTES });

/** The 6-digit SHA-1 code of the 30 s step that starts at `epochSeconds`. */
export function totpCodeAt(secret: string, epochSeconds: number): string {
  return generateSync({ secret, epoch: epochSeconds, guardrails: GUARDRAILS });
}
