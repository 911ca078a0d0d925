/** The one rule for TXT values written through serve: an ACME digest, 43 base64url characters. */
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { isAcmeChallengeValue } from './acme-txt.js';

it('accepts an ACME digest, including one that starts with "-", and refuses anything else', () => {
  const digest = createHash('sha256').update('token.thumbprint').digest('base64url');
  expect(isAcmeChallengeValue(digest)).toBe(true);
  expect(isAcmeChallengeValue(`-${digest.slice(1)}`)).toBe(true);
  expect(isAcmeChallengeValue(`--${digest.slice(2)}`)).toBe(true);
  for (const bad of ['', 'hello', digest.slice(1), `${digest}A`, `${digest.slice(1)}=`, `${digest.slice(1)}+`, `${digest.slice(1)} `, 'v=spf1 include:evil.example ~all'.padEnd(43, 'x')]) {
    expect(isAcmeChallengeValue(bad), bad).toBe(false);
  }
});
