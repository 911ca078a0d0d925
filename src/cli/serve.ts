/**
 * `miab-dns01 serve`: parses flags, opens the same runtime as every other command (one box
 * session, journal, authoritative wait, CNAME rules) and runs the serve HTTP server until
 * SIGTERM / SIGINT, then stops accepting, finishes requests in flight and returns (exit 0).
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';
import { isLoopbackHost } from '../config/config.js';
import { openRuntime } from '../runtime.js';
import { openAuditLog, noAudit } from '../serve/audit.js';
import { parseCidr } from '../serve/cidr.js';
import { ddnsStartupWarnings } from '../serve/dyndns.js';
import { ClientRegistry } from '../serve/registry.js';
import { startServe } from '../serve/server.js';
import { contextLogger, runtimeOptions } from '../adapters/context.js';
import { flag, parseDuration, single } from './args.js';
import type { CommandHandler } from './command.js';

const GRACE_MS = 9_000;

/** `127.0.0.1:8053`, `[::1]:8053`, `localhost:8053`. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !(port >= 0 && port <= 65535) || (match?.[1] !== undefined && isIP(host) !== 6)) {
    throw new ConfigError('usage', `--listen takes <host:port>, e.g. 127.0.0.1:8053 or [::1]:8053 (got ${JSON.stringify(text)}); see "miab-dns01 help serve"`);
  }
  return { host, port };
}

export const serve: CommandHandler = async (args, context) => {
  if (args.positionals.length > 0) throw new ConfigError('usage', '"serve" takes no positional arguments; see "miab-dns01 help serve"');
  const listenText = single(args, 'listen');
  if (listenText === undefined) throw new ConfigError('usage', '"serve" needs --listen <host:port>, e.g. --listen 127.0.0.1:8053');
  const listen = parseListen(listenText);
  const certFile = single(args, 'tls-cert');
  const keyFile = single(args, 'tls-key');
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError('usage', '--tls-cert and --tls-key go together');
  if (certFile === undefined && !flag(args, 'behind-tls-proxy') && !isLoopbackHost(listen.host)) {
    throw new ConfigError(
      'config-insecure-url',
      `refusing plain HTTP on ${listenText}: client passwords would cross the network in clear text. Give --tls-cert and --tls-key, listen on loopback behind a TLS reverse proxy, or say --behind-tls-proxy when a TLS proxy on the path terminates TLS`,
    );
  }
  const trustProxy = (args.options.get('trust-proxy') ?? []).map((cidr) => parseCidr(cidr, '--trust-proxy'));
  const expireText = single(args, 'expire-after');
  const expireAfterMs = expireText === undefined ? 3_600_000 : parseDuration(expireText, '--expire-after');
  const waitText = single(args, 'wait-limit');
  const waitLimitMs = waitText === undefined ? 25_000 : parseDuration(waitText, '--wait-limit');
  const readPem = async (file: string, what: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      throw new ConfigError('config-invalid', `cannot read the ${what} ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const tls = certFile !== undefined && keyFile !== undefined ? { cert: await readPem(certFile, 'TLS certificate'), key: await readPem(keyFile, 'TLS key') } : undefined;

  const log = contextLogger(context);
  // The runtime's waits end only at the hard stop: SIGTERM must let requests in flight finish.
  const hardStop = new AbortController();
  const runtime = await openRuntime({
    ...runtimeOptions(context, log),
    signal: hardStop.signal,
    progress: (line) => log.debug(line),
    isTTY: false,
  });
  const auditLogPath = single(args, 'audit-log');
  let audit = noAudit;
  try {
    if (auditLogPath !== undefined) {
      audit = await openAuditLog(auditLogPath, (error) => log.warn(`cannot write the audit log ${auditLogPath}: ${error.message}`)).catch((error: unknown) => {
        throw new ConfigError('config-invalid', `cannot open the audit log ${auditLogPath}: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
    // Fail at start, not at the first client's request, when the box configuration is wrong.
    const zones = await runtime.provider.store.zones();
    for (const warning of ddnsStartupWarnings(await new ClientRegistry(runtime.config.stateDir).list(), zones, runtime.provider.addresses !== undefined)) log.warn(warning);
    const instance = await startServe({
      host: listen.host,
      port: listen.port,
      tls,
      trustProxy,
      expireAfterMs,
      waitLimitMs,
      stateDir: runtime.config.stateDir,
      engine: runtime.engine,
      ...(runtime.provider.addresses === undefined ? {} : { addresses: runtime.provider.addresses }),
      log,
      audit,
    }).catch((error: unknown) => {
      const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
        throw new ConfigError('config-invalid', `cannot listen on ${listenText} (${code}): pick a free port and an address of this machine`);
      }
      throw error;
    });
    log.info(`listening on ${instance.url} (${runtime.provider.name} ${runtime.provider.identity}, zones ${zones.join(', ') || '(none)'})`);
    await new Promise<void>((resolve) => {
      if (context.signal.aborted) resolve();
      context.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    log.info('stopping: no new connections; finishing requests in flight');
    const force = setTimeout(() => hardStop.abort(), GRACE_MS);
    await instance.close(GRACE_MS - 500);
    clearTimeout(force);
    log.info('stopped');
  } finally {
    await audit.close();
    await runtime.close();
  }
};

