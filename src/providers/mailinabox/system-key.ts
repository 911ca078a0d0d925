/**
 * System key mode, on the box itself: the daemon accepts the content of its key file as the
 * username. The daemon writes a new key at every start, so a rejection re-reads the file.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../errors.js';
import { registerDerivedSecret } from '../../secrets.js';
import { basicAuthorization, type Authenticator } from './types.js';

export class SystemKeyAuthenticator implements Authenticator {
  readonly mode = 'system-key' as const;
  readonly #keyFile: string;

  constructor(keyFile: string) {
    this.#keyFile = keyFile;
  }

  async authorization(): Promise<string> {
    let key: string;
    try {
      // Releases before v60 end the key with a newline.
      key = (await readFile(this.#keyFile, 'utf8')).trim();
    } catch (error) {
      throw new ConfigError('config-missing', `cannot read the box's system key ${this.#keyFile}: ${error instanceof Error ? error.message : String(error)} (run as root on the box, or set MIAB_URL, MIAB_EMAIL and MIAB_PASSWORD)`);
    }
    if (key === '') throw new ConfigError('config-invalid', `the system key file ${this.#keyFile} is empty`);
    const header = basicAuthorization(key, '');
    registerDerivedSecret(key);
    registerDerivedSecret(header.slice('Basic '.length));
    return header;
  }

  async refreshAfterRejection(rejected: string): Promise<string | undefined> {
    const fresh = await this.authorization();
    return fresh === rejected ? undefined : fresh;
  }
}
