/**
 * Secrets stored only as slow salted hashes (scrypt), compared in constant time: serve's client
 * passwords (a stolen registry gives no usable credential) and the credentials of a remembered
 * refused login (a copy of the state dir offers no fast guess at a short password).
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const PARAMS = { N: 16_384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function bytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function derive(secret: string, salt: Buffer, options: ScryptOptions): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    scrypt(secret, bytes(salt), KEY_LENGTH, { ...options, maxmem: 64 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(bytes(key))));
  });
}

/** `scrypt$N$r$p$<salt b64url>$<hash b64url>` */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), Buffer.from(key).toString('base64url')].join('$');
}

/** Always does the full derivation, also for a malformed hash, so timing tells nothing. */
export async function verifySecret(secret: string, stored: string | undefined): Promise<boolean> {
  const parts = (stored ?? '').split('$');
  const [kind, n, r, p, saltText, hashText] = parts;
  const wellFormed = parts.length === 6 && kind === 'scrypt' && saltText !== undefined && hashText !== undefined;
  const options = wellFormed ? { N: Number(n), r: Number(r), p: Number(p) } : PARAMS;
  const salt = wellFormed ? Buffer.from(saltText, 'base64url') : Buffer.alloc(16);
  const expected = wellFormed ? Buffer.from(hashText, 'base64url') : Buffer.alloc(KEY_LENGTH);
  const key = await derive(secret, salt, options);
  return wellFormed && expected.length === key.length && timingSafeEqual(bytes(expected), key);
}

/** 40 characters of `A-Za-z0-9_-` (240 bits), the shape acme-dns clients expect. */
export function newPassword(): string {
  return randomBytes(30).toString('base64url');
}
