/**
 * What a TXT value written through `serve` must look like: an ACME DNS-01 digest, i.e. the
 * base64url (no padding) of a SHA-256, exactly 43 characters. Real acme-dns accepts nothing
 * else (400 `bad_txt`); a scoped credential must not be able to publish arbitrary text in the
 * owner's zone. Every front-end (acme-dns, httpreq, RFC 2136) applies this one rule.
 */

/** Length of base64url(SHA-256) without padding. */
export const ACME_TXT_LENGTH = 43;

const ACME_TXT_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The sentence that tells a client why its value was refused. */
export const ACME_TXT_RULE = `a TXT value must be an ACME DNS-01 digest: exactly ${ACME_TXT_LENGTH} characters of base64url (A-Z, a-z, 0-9, "-", "_"), as the ACME client computes it`;

export function isAcmeChallengeValue(value: string): boolean {
  return ACME_TXT_PATTERN.test(value);
}
