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
import { DEFAULT_LIMITS, startServe, type ServeLimits } from '../serve/server.js';
import { startDnsFrontEnd, type DnsFrontEnd } from '../serve/dns/front-end.js';
import { SERVE_LIMITS } from './serve-spec.js';
import { ddnsStartupWarnings } from '../serve/dyndns.js';
import { ClientRegistry } from '../serve/registry.js';
import { contextLogger, runtimeOptions } from '../adapters/context.js';
import { flag, parseDuration, single } from './args.js';
import type { CommandHandler } from './command.js';

const GRACE_MS = 9_000;

/** The bounds given as flags or variables (flag > environment); unset ones keep their defaults. */
export function parseServeLimits(args: Parameters<CommandHandler>[0], env: Readonly<Record<string, string | undefined>>): ServeLimits {
  const limits: Record<string, number> = {};
  for (const limit of SERVE_LIMITS) {
    const flagValue = single(args, limit.name);
    const text = flagValue ?? env[limit.variable];
    if (text === undefined || text === '') continue;
    const where = flagValue !== undefined ? `--${limit.name}` : limit.variable;
    const value = Number(text);
    const max = 'max' in limit ? limit.max : Number.MAX_SAFE_INTEGER;
    if (!/^\d+$/.test(text.trim()) || value < limit.min || value > max) {
      throw new ConfigError('usage', `${where} takes a whole number from ${limit.min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`} (got ${JSON.stringify(text)}); see "miab-dns01 help serve"`);
    }
    limits[limit.key] = value;
  }
  return limits;
}

/** `127.0.0.1:8053`, `[::1]:8053`, `localhost:8053`. */
export function parseListen(text: string, option = '--listen'): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !(port >= 0 && port <= 65535) || (match?.[1] !== undefined && isIP(host) !== 6)) {
    throw new ConfigError('usage', `${option} takes <host:port>, e.g. 127.0.0.1:8053 or [::1]:8053 (got ${JSON.stringify(text)}); see "miab-dns01 help serve"`);
  }
  return { host, port };
}

/** EADDRINUSE and the like as a configuration error naming the flag. */
function listenError(what: string): (error: unknown) => never {
  return (error) => {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new ConfigError('config-invalid', `cannot listen on ${what} (${code}): pick a free port and an address of this machine`);
    }
    throw error;
  };
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
  const dnsListenText = single(args, 'dns-listen');
  const dnsListen = dnsListenText === undefined ? undefined : parseListen(dnsListenText, '--dns-listen');
  const udpWaitText = single(args, 'dns-udp-wait');
  if (udpWaitText !== undefined && dnsListen === undefined) throw new ConfigError('usage', '--dns-udp-wait goes with --dns-listen');
  const udpWaitLimitMs = udpWaitText === undefined ? undefined : parseDuration(udpWaitText, '--dns-udp-wait');
  const limits = parseServeLimits(args, context.env);
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
      limits,
    }).catch(listenError(listenText));
    let dns: DnsFrontEnd | undefined;
    if (dnsListen !== undefined) {
      const { guards } = instance;
      dns = await startDnsFrontEnd({
        ...dnsListen,
        registry: guards.registry,
        lockout: guards.lockout,
        audit: guards.audit,
        writer: guards.writer,
        ownership: guards.ownership,
        writes: guards.writes,
        maxValuesPerName: limits.maxValuesPerName ?? DEFAULT_LIMITS.maxValuesPerName,
        ...(limits.ipv6Prefix === undefined ? {} : { ipv6Prefix: limits.ipv6Prefix }),
        records: runtime.provider.store,
        ...(runtime.provider.addresses === undefined ? {} : { addresses: runtime.provider.addresses }),
        log,
        tcpWaitLimitMs: waitLimitMs,
        ...(udpWaitLimitMs === undefined ? {} : { udpWaitLimitMs }),
      }).catch(async (error: unknown) => {
        await instance.close(0);
        return listenError(`--dns-listen ${dnsListenText ?? ''}`)(error);
      });
      const host = dns.host.includes(':') ? `[${dns.host}]` : dns.host;
      log.info(`RFC 2136 (DNS UPDATE with TSIG) on udp and tcp ${host}:${dns.port}`);
    }
    log.info(`listening on ${instance.url} (${runtime.provider.name} ${runtime.provider.identity}, zones ${zones.join(', ') || '(none)'})`);
    await new Promise<void>((resolve) => {
      if (context.signal.aborted) resolve();
      context.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    log.info('stopping: no new connections; finishing requests in flight');
    const force = setTimeout(() => hardStop.abort(), GRACE_MS);
    await Promise.all([instance.close(GRACE_MS - 500), dns?.close(GRACE_MS - 500)]);
    // An UPDATE answered after the HTTP side closed noted its client's last use too.
    if (dns !== undefined) await instance.guards.registry.flushLastUse().catch(() => undefined);
    clearTimeout(force);
    log.info('stopped');
  } finally {
    await audit.close();
    await runtime.close();
  }
};

