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

export function normalizeTotpSecret(raw: string, origin = 'MIAB_TOTP_SECRET'): string {
  const secret = raw.replace(/[\s-]/g, '').toUpperCase().replace(/=+$/, '');
  if (!/^[A-Z2-7]+$/.test(secret)) {
    throw new ConfigError('config-invalid', `${origin} must be the base32 secret shown when you enabled two-factor authentication (letters A-Z and digits 2-7)`);
  }
  // RFC 4226 asks for at least 128 bits, and the TOTP library refuses less; the box makes 160.
  if (secret.length < 26) {
    throw new ConfigError('config-invalid', `${origin} is ${secret.length} characters long: a TOTP secret has at least 26 base32 characters (Mail-in-a-Box shows 32); copy the whole secret`);
  }
  return secret;
}

/** Plain HTTP is allowed only to these: nothing crosses a network in clear text. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}
