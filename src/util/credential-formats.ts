/**
 * The forms every provider's settings take alike (a TOTP secret, a certificate pin, which
 * hosts may be reached over plain HTTP): one parser each, so the box, cPanel and a serve
 * client accept and refuse exactly the same text.
 */
import { ConfigError } from '../errors.js';

/** Accepts `AB:CD:...`, `abcd...` and openssl's `sha256 Fingerprint=AB:CD...`. */
export function normalizeFingerprint(raw: string, origin = 'MIAB_TLS_FINGERPRINT'): string {
  const hex = raw.replace(/^.*=/, '').replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new ConfigError(
      'config-invalid',
      `${origin} must be a SHA-256 fingerprint (64 hex digits, colons optional), as printed by: openssl s_client -connect <box>:443 </dev/null | openssl x509 -noout -fingerprint -sha256`,
    );
  }
  return hex;
}

/** 16 base32 characters = 80 bits = otplib's floor as this project sets it (util/totp-code.ts). */
export const MIN_TOTP_SECRET_CHARS = 16;

export function normalizeTotpSecret(raw: string, origin = 'MIAB_TOTP_SECRET'): string {
  const secret = raw.replace(/[\s-]/g, '').toUpperCase().replace(/=+$/, '');
  if (!/^[A-Z2-7]+$/.test(secret)) {
    throw new ConfigError('config-invalid', `${origin} must be the base32 secret shown when you enabled two-factor authentication (letters A-Z and digits 2-7)`);
  }
  // 80 bits (16 characters) is what cPanel and many authenticator apps issue; the box makes 160
  // (32). Anything shorter is a truncated copy, not a real secret. Kept equal to otplib's
  // guardrail in totp-code.ts (MIN_TOTP_SECRET_BYTES = 10 bytes).
  if (secret.length < MIN_TOTP_SECRET_CHARS) {
    throw new ConfigError(
      'config-invalid',
      `${origin} is ${secret.length} characters long: a TOTP secret has at least ${MIN_TOTP_SECRET_CHARS} base32 characters (80 bits; Mail-in-a-Box shows 32, cPanel 16); copy the whole secret`,
    );
  }
  // Base32 packs 5 bits per character into whole bytes: 1, 3 or 6 characters past a multiple
  // of 8 cannot end a secret (the box's decoder refuses them too), so one is missing or extra.
  if ([1, 3, 6].includes(secret.length % 8)) {
    throw new ConfigError('config-invalid', `${origin} is ${secret.length} characters long, which no base32 secret is (a character is missing or extra); copy the whole secret again`);
  }
  return withZeroPaddingBits(secret);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * The bits of the last character past the last whole byte are not part of the key: the box's
 * decoder (Python's b32decode) ignores them, the TOTP library refuses them unless zero. Cleared,
 * so both compute the same key.
 */
function withZeroPaddingBits(secret: string): string {
  const spare = (secret.length * 5) % 8;
  if (spare === 0) return secret;
  const last = BASE32.indexOf(secret.slice(-1));
  return `${secret.slice(0, -1)}${BASE32[last & ~((1 << spare) - 1)] ?? ''}`;
}

/** Plain HTTP is allowed only to these: nothing crosses a network in clear text. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}
