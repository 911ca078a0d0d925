/**
 * Shared by the RFC 2136 suites: the loopback topology with a partner value already at the
 * challenge name (it must survive every delete), box writes slowed to 0.2 s, a TSIG client,
 * `serve --dns-listen`, the real nsupdate / knsupdate, and a tiny signed-message client for
 * the refusals no real client would send.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readTsig, signRequest, verifyReply, type TsigKey } from '../../src/serve/dns/tsig.js';
import { bytes, concat, encodeName, parseMessage, type WireMessage } from '../../src/serve/dns/wire.js';
import { runCommand, type CommandRun } from '../fixtures/acme-clients.js';
import { freePort } from '../fixtures/net.js';
import { requireBinary } from '../fixtures/system.js';
import type { Topology } from '../fixtures/topology.js';
import type { Fault } from '../emulator/types.js';
import { addClient, type AddedClient } from './helpers.js';

export const PARTNER_VALUE = 'partner-value-not-written-by-serve-0123456789';

export interface TsigCredentials {
  readonly name: string;
  readonly algorithm: TsigKey['algorithm'];
  readonly secret: string;
}

export type TsigClient = AddedClient & { readonly tsig: TsigCredentials };

export async function addTsigClient(env: Record<string, string>, name: string, domains: readonly string[], extra: readonly string[] = []): Promise<TsigClient> {
  const { client } = await addClient(env, name, domains, ['--tsig', ...extra]);
  const { tsig } = client as AddedClient & { tsig?: TsigCredentials };
  if (tsig === undefined) throw new Error('clients add --tsig printed no tsig member');
  return { ...client, tsig };
}

/** Every box write (POST / PUT / DELETE of a custom record) takes 0.2 s, as the check does. */
export function slowBoxWrites(topology: Topology, count = 200): void {
  const faults: Fault[] = [];
  for (let index = 0; index < count; index++) {
    for (const method of ['POST', 'PUT', 'DELETE']) faults.push({ delayMs: 200, match: { method, pathPrefix: '/dns/custom' } });
  }
  topology.emulator.injectFaults(faults);
}

export function boxWrites(topology: Topology): number {
  return topology.emulator.requests.filter((request) => request.path.includes('/dns/custom') && request.method !== 'GET' && request.status < 400).length;
}

export function txtAt(topology: Topology, name: string): string[] {
  return topology.emulator
    .records()
    .filter((record) => record.qname === name && record.rtype === 'TXT')
    .map((record) => record.value)
    .sort();
}

export async function dnsListenPort(): Promise<number> {
  return freePort('127.0.0.1');
}

/** The real nsupdate (BIND 9.18) with a script file; `-y alg:name:secret` or `-k keyfile`. */
export async function runNsupdate(dir: string, script: string, key: { readonly inline: TsigCredentials } | { readonly file: string }, tool: 'nsupdate' | 'knsupdate' = 'nsupdate', options: { tcp?: boolean } = {}): Promise<CommandRun> {
  const file = join(dir, `${tool}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  await writeFile(file, script);
  const keyArgs = 'inline' in key ? ['-y', `${key.inline.algorithm}:${key.inline.name}:${key.inline.secret}`] : ['-k', key.file];
  return runCommand([requireBinary(tool), ...(options.tcp === true ? ['-v'] : []), ...keyArgs, file], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }, cwd: dir, timeoutMs: 60_000 });
}

export function nsupdateScript(port: number, lines: readonly string[], options: { zone?: string; tcp?: boolean } = {}): string {
  return [`server 127.0.0.1 ${port}`, ...(options.zone ? [`zone ${options.zone}`] : []), ...lines, 'send', ''].join('\n');
}

/** A TXT record in wire form (one string), for hand-built UPDATEs. */
export function txtRecord(name: string, klass: number, ttl: number, value: string | undefined): Buffer {
  const rdata = value === undefined ? Buffer.alloc(0) : concat([Buffer.from([Buffer.byteLength(value)]), Buffer.from(value)]);
  const head = Buffer.alloc(10);
  head.writeUInt16BE(16, 0);
  head.writeUInt16BE(klass, 2);
  head.writeUInt32BE(ttl, 4);
  head.writeUInt16BE(rdata.length, 8);
  return concat([encodeName(name), head, rdata]);
}

export function rawRecord(name: string, type: number, klass: number, ttl: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(klass, 2);
  head.writeUInt32BE(ttl, 4);
  head.writeUInt16BE(rdata.length, 8);
  return concat([encodeName(name), head, rdata]);
}

/** An UPDATE message: zone section (SOA), prerequisites, updates. Unsigned. */
export function updateMessage(zone: string, updates: readonly Buffer[], prerequisites: readonly Buffer[] = [], id = Math.floor(Math.random() * 0xffff)): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(5 << 11, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(prerequisites.length, 6);
  header.writeUInt16BE(updates.length, 8);
  return concat([header, encodeName(zone), Buffer.from([0, 6, 0, 1]), ...prerequisites, ...updates]);
}

export function queryMessage(name: string, type: number, options: { id?: number; rd?: boolean } = {}): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(options.id ?? Math.floor(Math.random() * 0xffff), 0);
  header.writeUInt16BE(options.rd ? 0x0100 : 0, 2);
  header.writeUInt16BE(1, 4);
  const question = Buffer.alloc(4);
  question.writeUInt16BE(type, 0);
  question.writeUInt16BE(1, 2);
  return concat([header, encodeName(name), question]);
}

export function keyOf(credentials: TsigCredentials, secret?: string): TsigKey {
  return { name: credentials.name.replace(/\.$/, ''), algorithm: credentials.algorithm, secret: Buffer.from(secret ?? credentials.secret, 'base64') };
}

export function sign(message: Buffer, key: TsigKey, nowSeconds = Math.floor(Date.now() / 1000)): { message: Buffer; mac: Buffer } {
  return signRequest(message, key, { nowSeconds });
}

export interface DnsExchange {
  readonly reply: WireMessage;
  readonly raw: Buffer;
  readonly rcode: number;
  /** The reply's TSIG error field (undefined: unsigned). */
  readonly tsigError: number | undefined;
  /** True when the reply carries a MAC that verifies against the request MAC. */
  readonly signedOk: boolean;
}

function describeReply(raw: Buffer, key: TsigKey | undefined, requestMac: Buffer | undefined): DnsExchange {
  const reply = parseMessage(raw);
  const tsig = readTsig(reply);
  return {
    reply,
    raw,
    rcode: reply.rcode,
    tsigError: tsig?.error,
    signedOk: tsig !== undefined && key !== undefined && requestMac !== undefined && tsig.mac.length > 0 && verifyReply(raw, tsig, key, requestMac),
  };
}

/** One message over UDP from `from`; resolves with the first reply (or rejects after `timeoutMs`). */
export function udpExchange(port: number, message: Buffer, options: { from?: string; key?: TsigKey; requestMac?: Buffer; timeoutMs?: number } = {}): Promise<DnsExchange> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no UDP reply'));
    }, options.timeoutMs ?? 30_000);
    socket.once('message', (raw: Buffer) => {
      clearTimeout(timer);
      socket.close();
      try {
        resolve(describeReply(raw, options.key, options.requestMac));
      } catch (error) {
        reject(error as Error);
      }
    });
    socket.bind(0, options.from ?? '127.0.0.1', () => socket.send(bytes(message), port, '127.0.0.1'));
  });
}

export function tcpExchange(port: number, message: Buffer, options: { from?: string; key?: TsigKey; requestMac?: Buffer; timeoutMs?: number } = {}): Promise<DnsExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: options.from ?? '127.0.0.1' });
    let pending = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no TCP reply'));
    }, options.timeoutMs ?? 40_000);
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(message.length);
      socket.write(bytes(concat([prefix, message])));
    });
    socket.on('data', (chunk: Buffer) => {
      pending = concat([pending, chunk]);
      if (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        try {
          resolve(describeReply(pending.subarray(2, 2 + pending.readUInt16BE(0)), options.key, options.requestMac));
        } catch (error) {
          reject(error as Error);
        }
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export interface AcmeRig {
  readonly directoryUrl: string;
  readonly caFile: string;
  readonly workDir: string;
  readonly domains: readonly string[];
  readonly dnsPort: number;
}

async function clientHome(workDir: string): Promise<Record<string, string>> {
  await mkdir(join(workDir, 'home'), { recursive: true });
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(workDir, 'home'), LANG: 'C.UTF-8' };
}

/**
 * The real certbot with its dns-rfc2136 plugin (Debian 2.1): an INI with dns_rfc2136_*,
 * `algorithm` left out to use its HMAC-MD5 default. Propagation seconds stay short: serve
 * answers over TCP after the nameservers serve the value.
 */
export async function runCertbotRfc2136(rig: AcmeRig, key: TsigCredentials, options: { algorithm?: string; propagationSeconds?: number } = {}): Promise<CommandRun & { certPath: string; logPath: string }> {
  await mkdir(rig.workDir, { recursive: true });
  const ini = join(rig.workDir, 'rfc2136.ini');
  const lines = [`dns_rfc2136_server = 127.0.0.1`, `dns_rfc2136_port = ${rig.dnsPort}`, `dns_rfc2136_name = ${key.name}`, `dns_rfc2136_secret = ${key.secret}`, ...(options.algorithm === undefined ? [] : [`dns_rfc2136_algorithm = ${options.algorithm}`])];
  await writeFile(ini, `${lines.join('\n')}\n`, { mode: 0o600 });
  const certName = 'rfc2136';
  const run = await runCommand(
    [
      requireBinary('certbot'), 'certonly', '--non-interactive',
      '--authenticator', 'dns-rfc2136', '--dns-rfc2136-credentials', ini, '--dns-rfc2136-propagation-seconds', String(options.propagationSeconds ?? 1),
      '--server', rig.directoryUrl,
      '--config-dir', join(rig.workDir, 'config'), '--work-dir', join(rig.workDir, 'work'), '--logs-dir', join(rig.workDir, 'logs'),
      '--agree-tos', '--register-unsafely-without-email', '--cert-name', certName,
      ...rig.domains.flatMap((domain) => ['-d', domain]),
    ],
    { env: { ...(await clientHome(rig.workDir)), REQUESTS_CA_BUNDLE: rig.caFile }, cwd: rig.workDir, timeoutMs: 100_000 },
  );
  return { ...run, certPath: join(rig.workDir, 'config', 'live', certName, 'cert.pem'), logPath: join(rig.workDir, 'logs', 'letsencrypt.log') };
}

/**
 * The real lego (Debian 4.9.1) with its rfc2136 provider. Its zone lookup (SOA per label,
 * RD=1) goes to --dns.resolvers: serve's DNS port here. `--dns.disable-cp` (lego would
 * otherwise leave loopback) makes serve's "answer after propagation" the only wait.
 */
export async function runLegoRfc2136(rig: AcmeRig, key: TsigCredentials, env: Record<string, string> = {}): Promise<CommandRun & { certPath: string }> {
  await mkdir(rig.workDir, { recursive: true });
  const first = rig.domains[0] ?? '';
  const run = await runCommand(
    [
      requireBinary('lego'), '--server', rig.directoryUrl, '--email', 'acme@example.test', '--accept-tos', '--path', rig.workDir,
      '--dns', 'rfc2136', '--dns.disable-cp', '--dns.resolvers', `127.0.0.1:${rig.dnsPort}`,
      ...rig.domains.flatMap((domain) => ['--domains', domain]),
      'run',
    ],
    {
      env: {
        ...(await clientHome(rig.workDir)),
        LEGO_CA_CERTIFICATES: rig.caFile,
        RFC2136_NAMESERVER: `127.0.0.1:${rig.dnsPort}`,
        RFC2136_TSIG_KEY: key.name,
        RFC2136_TSIG_SECRET: key.secret,
        RFC2136_PROPAGATION_TIMEOUT: '60',
        RFC2136_POLLING_INTERVAL: '1',
        RFC2136_SEQUENCE_INTERVAL: '1',
        ...env,
      },
      cwd: rig.workDir,
      timeoutMs: 100_000,
    },
  );
  return { ...run, certPath: join(rig.workDir, 'certificates', `${first.replace(/\*/g, '_')}.crt`) };
}
