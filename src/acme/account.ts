/** The ACME account key: created once per directory URL and kept (0600) in the state dir. */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readTextFile, writePrivateFile } from '../state/files.js';
import { withLock } from '../state/lock.js';

export function accountKeyPath(stateDir: string, directoryUrl: string): string {
  return join(stateDir, 'acme', `account-${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}.pem`);
}

/** Reads the account key for this ACME server, creating it (under a lock) the first time. */
export async function loadOrCreateAccountKey(stateDir: string, directoryUrl: string, create: () => Promise<string>): Promise<{ pem: string; created: boolean }> {
  const path = accountKeyPath(stateDir, directoryUrl);
  const existing = await readTextFile(path);
  if (existing !== undefined) return { pem: existing, created: false };
  return withLock(`${path}.lock`, async () => {
    const again = await readTextFile(path);
    if (again !== undefined) return { pem: again, created: false };
    const pem = await create();
    await writePrivateFile(path, pem);
    return { pem, created: true };
  });
}

/**
 * The account URL the CA gave for the key. Passing it back to acme-client skips
 * re-registration, which for an existing key ends in an empty update that strict servers refuse.
 */
export async function readAccountUrl(stateDir: string, directoryUrl: string): Promise<string | undefined> {
  const url = (await readTextFile(`${accountKeyPath(stateDir, directoryUrl)}.url`))?.trim();
  return url === '' ? undefined : url;
}

export async function saveAccountUrl(stateDir: string, directoryUrl: string, accountUrl: string): Promise<void> {
  await writePrivateFile(`${accountKeyPath(stateDir, directoryUrl)}.url`, `${accountUrl}\n`);
}
