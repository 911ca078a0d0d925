/**
 * Pure functions for the names and values of DNS-01 challenges: what the user typed, what the
 * box expects on the wire, and which box zone a name belongs to. No I/O here.
 */
import { createHash } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { ConfigError } from '../errors.js';

export const CHALLENGE_LABEL = '_acme-challenge';

/** A challenge target, normalized the way the box matches names (exactly, case-sensitively). */
export interface ChallengeName {
  /** The domain the certificate is for, without `*.` (e.g. `example.com`). */
  readonly domain: string;
  /** `_acme-challenge.<domain>`: lower-case, punycode, no trailing dot. */
  readonly fqdn: string;
}

const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
// Host-name letters plus `_` (service labels such as `_acme-challenge` and delegated targets).
const LABEL_PATTERN = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;

function invalidName(input: string, why: string): ConfigError {
  return new ConfigError('invalid-name', `invalid name ${JSON.stringify(input)}: ${why}`);
}

/** Lower-case ASCII (punycode) form of a host name, or an `invalid-name` error saying why not. */
export function normalizeDomain(input: string): string {
  if (input === '') throw invalidName(input, 'the name is empty');
  if (/\s/.test(input)) throw invalidName(input, 'a domain name cannot contain spaces');
  let name = input;
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.startsWith('*.')) name = name.slice(2);
  for (const label of name.split('.')) {
    if (label === '') throw invalidName(input, 'it has an empty label (two dots in a row, or a leading dot)');
  }
  // domainToASCII maps Unicode to punycode and lower-cases; it returns '' for names it cannot map.
  const ascii = /^[\x21-\x7e]+$/.test(name) ? name.toLowerCase() : domainToASCII(name);
  if (ascii === '') throw invalidName(input, 'it is not a valid internationalized domain name');
  const labels = ascii.split('.');
  for (const label of labels) {
    if (label.length > MAX_LABEL_LENGTH) {
      throw invalidName(input, `the label "${label.slice(0, 20)}..." is ${label.length} characters long; the limit is ${MAX_LABEL_LENGTH}`);
    }
    if (!LABEL_PATTERN.test(label)) {
      throw invalidName(input, `the label "${label}" may only hold letters, digits, "-" and "_", and cannot start or end with "-"`);
    }
  }
  if (labels.length < 2) throw invalidName(input, 'use a fully qualified name such as example.com');
  return ascii;
}

/**
 * Accepts `example.com`, `*.example.com`, `_acme-challenge.example.com` and any of them with a
 * trailing dot, and returns the domain and its challenge name.
 */
export function parseChallengeName(input: string): ChallengeName {
  const ascii = normalizeDomain(input);
  const domain = ascii.startsWith(`${CHALLENGE_LABEL}.`) ? ascii.slice(CHALLENGE_LABEL.length + 1) : ascii;
  const fqdn = `${CHALLENGE_LABEL}.${domain}`;
  if (fqdn.length > MAX_NAME_LENGTH) {
    throw invalidName(input, `the challenge name ${fqdn.slice(0, 30)}... is ${fqdn.length} characters long; DNS names are limited to ${MAX_NAME_LENGTH}`);
  }
  if (!domain.includes('.')) throw invalidName(input, 'use a fully qualified name such as example.com');
  return { domain, fqdn };
}

// ACME DNS-01 values are base64url (43 characters for SHA-256); we also accept the standard
// base64 alphabet so that other TXT-based challenges work, but nothing the box would mangle.
const VALUE_PATTERN = /^[A-Za-z0-9_\-+/=.]+$/;
const MAX_VALUE_LENGTH = 255;

/** Throws `invalid-value` unless `value` is a TXT value every DNS host stores unchanged. */
export function validateTxtValue(value: string): string {
  if (value === '') throw new ConfigError('invalid-value', 'the TXT value is empty: pass the validation string the ACME client gave you');
  if (value.length > MAX_VALUE_LENGTH) {
    throw new ConfigError('invalid-value', `the TXT value is ${value.length} characters long; challenge values are at most ${MAX_VALUE_LENGTH}`);
  }
  if (!VALUE_PATTERN.test(value)) {
    const reason = /[^\x00-\x7f]/.test(value)
      ? 'it contains non-ASCII characters (a DNS host may silently drop them; Mail-in-a-Box does)'
      : /\s/.test(value)
        ? 'it contains whitespace (a DNS host may trim or split it)'
        : /["']/.test(value)
          ? 'it contains quotes (a DNS host may publish them as part of the value)'
          : 'it contains characters outside base64url';
    throw new ConfigError('invalid-value', `invalid TXT value: ${reason}; pass the value exactly as the ACME client gave it`);
  }
  return value;
}

/** The DNS-01 TXT value for a key authorization: base64url(SHA-256(keyAuthorization)), unpadded. */
export function txtValueFromKeyAuthorization(keyAuthorization: string): string {
  return createHash('sha256').update(keyAuthorization).digest('base64url');
}

/** The box zone that `name` belongs to (zones never nest on the box), or undefined. */
export function findZone(name: string, zones: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const zone of zones) {
    if ((name === zone || name.endsWith(`.${zone}`)) && (best === undefined || zone.length > best.length)) best = zone;
  }
  return best;
}
