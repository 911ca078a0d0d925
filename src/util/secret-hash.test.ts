/** Client password hashes: slow, salted, constant-time, robust to damaged input. */
import { describe, expect, it } from 'vitest';
import { hashSecret, newPassword, verifySecret } from './secret-hash.js';

describe('secret hashes', () => {
  it('verifies the right password only, and survives malformed hashes', async () => {
    const password = newPassword();
    expect(password).toMatch(/^[A-Za-z0-9_-]{40}$/);
    const hash = await hashSecret(password);
    expect(hash).not.toContain(password);
    expect(await verifySecret(password, hash)).toBe(true);
    expect(await verifySecret(`${password}x`, hash)).toBe(false);
    expect(await verifySecret(password, undefined)).toBe(false);
    expect(await verifySecret(password, 'scrypt$garbage')).toBe(false);
  });
});
