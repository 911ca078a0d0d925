/**
 * The serve-client provider: records through a `miab-dns01 serve` instance instead of the box.
 * `openServeClientStore` is what the composition root calls when MIAB_DNS01_SERVE_URL is set.
 */
import { BoxTransport } from '../mailinabox/transport.js';
import type { TxtRecordStore } from '../../records/store.js';
import type { Logger } from '../../util/log.js';
import { loadServeClientConfig, type ServeClientConfig, type ServeClientEnvironment } from './config.js';
import { ServeRecordStore } from './store.js';

export { loadServeClientConfig, usesServe, type ServeClientConfig, type ServeClientEnvironment } from './config.js';
export { ServeRecordStore } from './store.js';

export interface ServeClientStore {
  readonly config: ServeClientConfig;
  readonly store: TxtRecordStore;
  /** Identifies the place records went in journal entries (serve's URL). */
  readonly apiUrl: string;
  close(): Promise<void>;
}

export async function openServeClientStore(env: ServeClientEnvironment, log: Logger, options: { requestTimeoutMs?: number } = {}): Promise<ServeClientStore> {
  const config = await loadServeClientConfig(env);
  const transport = new BoxTransport({ tls: config.tls, log, requestTimeoutMs: options.requestTimeoutMs });
  return { config, store: new ServeRecordStore(config, transport), apiUrl: config.url, close: () => transport.close() };
}
