/**
 * The serve-client provider: records through a `miab-dns01 serve` instance instead of the box.
 * Selected by `--provider serve`, or by MIAB_DNS01_SERVE_URL when no provider is named. The
 * machine holds only its scoped credential; `serve` holds the host's.
 */
import type { Logger } from '../../util/log.js';
import { BoxTransport } from '../mailinabox/transport.js';
import type { DnsProvider } from '../provider.js';
import type { ServeClientConfig } from './config.js';
import { ServeRecordStore } from './store.js';

export { loadServeClientConfig, usesServe, type ServeClientConfig, type ServeClientEnvironment } from './config.js';
export { ServeRecordStore } from './store.js';

export interface ServeClientOpenOptions {
  readonly log: Logger;
  readonly requestTimeoutMs?: number;
}

export function openServeClientProvider(config: ServeClientConfig, options: ServeClientOpenOptions): Promise<DnsProvider> {
  const transport = new BoxTransport({ tls: config.tls, log: options.log, requestTimeoutMs: options.requestTimeoutMs, peer: { what: 'serve', setting: 'MIAB_DNS01_SERVE_URL' } });
  const store = new ServeRecordStore(config, transport);
  return Promise.resolve({
    name: 'serve',
    // The client's own name in the journal: two credentials on one serve never share entries.
    identity: `serve:${config.username}@${config.url}`,
    hostLabel: 'serve instance',
    store,
    async check() {
      const zones = await store.zones();
      return {
        server: { label: 'serve', url: config.url },
        authMode: 'serve-client',
        account: config.username,
        accountText: `serve client ${config.username}`,
        session: undefined,
        // The client's password goes with every request.
        verified: 'password',
        zones,
        facts: {},
      };
    },
    logout: () => Promise.resolve({ ended: false, message: 'a serve client has no session to end' }),
    close: () => transport.close(),
  });
}
