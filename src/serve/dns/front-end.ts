/**
 * `serve --dns-listen`: the RFC 2136 front-end on UDP and TCP. It answers two things only:
 * SOA queries for the box's zones (how nsupdate, certbot and lego find the zone) and UPDATE
 * messages signed with a client's TSIG key. Everything else is REFUSED: it is not a resolver,
 * never recurses, and never answers with more than a small fixed reply (no amplification).
 * Every reply to a signed message is signed (nsupdate and knsupdate reject unsigned ones).
 *
 * When to answer an UPDATE: after every authoritative nameserver serves the change, bounded
 * (TCP: the HTTP protocols' limit; UDP: a shorter one, below lego's 10 s DNS timeout). A
 * retransmission (same source, ID and MAC) is answered from a short cache, never applied twice.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import type { Answer } from 'dns-packet';
import type { AuditSink } from '../audit.js';
import { normalizeAddress } from '../cidr.js';
import { ConnectionGuard } from '../connection-guard.js';
import type { Lockout } from '../lockout.js';
import type { ClientRegistry, ServeClient } from '../registry.js';
import { sourceAllowed } from '../scope.js';
import type { ChallengeWriter } from '../writer.js';
import { RetransmitCache } from './retransmit-cache.js';
import { readTsig, signReply, unsignedErrorReply, verifyRequest, type TsigKey, type TsigRecord } from './tsig.js';
import { UpdateHandler, type UpdateContext } from './update.js';
import { rcodeName } from '../../propagation/packet.js';
import { CLASS, OPCODE, RCODE, TYPE, WireError, buildReply, bytes, parseMessage, type WireMessage } from './wire.js';

/** Source addresses the answer limit remembers; past it the oldest are forgotten. */
const MAX_TRACKED_SOURCES = 10_000;

/** Larger messages are dropped: an UPDATE with a few challenge values and TSIG is under 1 KiB. */
export const MAX_MESSAGE_BYTES = 4096;

export interface DnsFrontEndOptions extends UpdateContext {
  readonly host: string;
  /** 0 picks a free port (UDP and TCP share it). */
  readonly port: number;
  readonly registry: ClientRegistry;
  readonly lockout: Lockout;
  readonly audit: AuditSink;
  /** Longest nameserver wait before answering over TCP (the HTTP protocols' limit). */
  readonly tcpWaitLimitMs: number;
  /** Longest nameserver wait before answering over UDP. @default 8_000 */
  readonly udpWaitLimitMs?: number;
  /** A TCP connection without a complete message for this long is closed. @default 10_000 */
  readonly tcpIdleMs?: number;
  /** Open TCP connections from one address (IPv6: its prefix). @default DEFAULT_CONNECTIONS_PER_ADDRESS (32) */
  readonly maxConnectionsPerAddress?: number;
  /** IPv6 peers are counted by this prefix, as the lockout counts them. @default DEFAULT_IPV6_PREFIX (64) */
  readonly ipv6Prefix?: number;
  /** Answers per source address and second (then dropped). @default 50 */
  readonly answersPerSecond?: number;
  readonly now?: () => number;
}

export interface DnsFrontEnd {
  readonly host: string;
  readonly port: number;
  /** Stops both listeners; waits for messages in flight (at most `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

type Transport = 'udp' | 'tcp';

interface Verified {
  readonly tsig: TsigRecord;
  readonly key: TsigKey;
  readonly client: ServeClient;
}

/** Per-source token bucket on answers: a forged source cannot turn serve into a reflector. */
class AnswerLimit {
  readonly #perSecond: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #now: () => number;

  constructor(perSecond: number, now: () => number) {
    this.#perSecond = perSecond;
    this.#now = now;
  }

  #lastPrune = 0;

  take(address: string): boolean {
    const now = this.#now();
    // Bounded memory under a spray of (forged) sources, pruned at most once a second.
    if (this.#buckets.size > MAX_TRACKED_SOURCES && now - this.#lastPrune > 1_000) {
      this.#lastPrune = now;
      for (const [key, bucket] of this.#buckets) if (now - bucket.at > 10_000) this.#buckets.delete(key);
      for (const key of this.#buckets.keys()) {
        if (this.#buckets.size <= MAX_TRACKED_SOURCES) break;
        this.#buckets.delete(key);
      }
    }
    const bucket = this.#buckets.get(address) ?? { tokens: this.#perSecond * 2, at: now };
    bucket.tokens = Math.min(this.#perSecond * 2, bucket.tokens + ((now - bucket.at) / 1000) * this.#perSecond);
    bucket.at = now;
    this.#buckets.set(address, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

function soaRecord(zone: string): Answer {
  // serve's own SOA, not the box's: clients use it only to find the zone, and the update goes
  // to the server they were configured with.
  return { type: 'SOA', name: zone, class: 'IN', ttl: 300, data: { mname: `ns1.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 3600, retry: 600, expire: 604800, minimum: 300 } };
}

function auditStatus(rcode: number): number {
  switch (rcode) {
    case RCODE.NOERROR:
      return 200;
    case RCODE.NOTAUTH:
      return 401;
    case RCODE.REFUSED:
      return 403;
    case RCODE.SERVFAIL:
      return 502;
    case RCODE.YXDOMAIN:
    case RCODE.YXRRSET:
    case RCODE.NXDOMAIN:
    case RCODE.NXRRSET:
      return 412;
    default:
      return 400;
  }
}

export async function startDnsFrontEnd(options: DnsFrontEndOptions): Promise<DnsFrontEnd> {
  const { registry, lockout, audit, log, writer } = options;
  const now = options.now ?? Date.now;
  const nowSeconds = (): number => Math.floor(now() / 1000);
  const updates = new UpdateHandler(options);
  const cache = new RetransmitCache({ now });
  const limit = new AnswerLimit(options.answersPerSecond ?? 50, now);
  const udpWaitLimitMs = options.udpWaitLimitMs ?? 8_000;
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const wait = async (written: Parameters<ChallengeWriter['waitFor']>[0], transport: Transport): Promise<boolean> => {
    if (written.length === 0) return true;
    return writer.waitFor(written, transport === 'tcp' ? options.tcpWaitLimitMs : Math.min(udpWaitLimitMs, options.tcpWaitLimitMs));
  };

  const handleQuery = async (message: WireMessage): Promise<Buffer> => {
    const [question, extra] = message.questions;
    if (question === undefined || extra !== undefined) return buildReply({ request: message, rcode: RCODE.FORMERR });
    if (question.type !== TYPE.SOA || question.klass !== CLASS.IN || message.answers.length + message.authorities.length > 0) return buildReply({ request: message, rcode: RCODE.REFUSED });
    const zones = await options.records.zones();
    const zone = zones.filter((candidate) => question.name === candidate || question.name.endsWith(`.${candidate}`)).sort((a, b) => b.length - a.length)[0];
    if (zone === undefined) return buildReply({ request: message, rcode: RCODE.REFUSED });
    const soa = soaRecord(zone);
    return question.name === zone
      ? buildReply({ request: message, rcode: RCODE.NOERROR, authoritative: true, answers: [soa] })
      : buildReply({ request: message, rcode: RCODE.NOERROR, authoritative: true, authorities: [soa] });
  };

  const auditUpdate = (entry: { client: string | null; key: string | null; ip: string; names: readonly string[]; rcode: number; note?: string; started: number }): void => {
    audit.write({
      client: entry.client,
      ip: entry.ip,
      action: 'dns-update',
      name: entry.names[0] ?? null,
      status: auditStatus(entry.rcode),
      rcode: rcodeName(entry.rcode),
      key: entry.key,
      names: entry.names,
      ...(entry.note === undefined ? {} : { note: entry.note }),
      durationMs: now() - entry.started,
    });
  };

  /** The reply to one message, or undefined to send nothing. */
  const answer = async (raw: Buffer, ip: string, transport: Transport): Promise<Buffer | undefined> => {
    const started = now();
    if (raw.length > MAX_MESSAGE_BYTES) return undefined;
    let message: WireMessage;
    try {
      message = parseMessage(raw);
    } catch {
      // A header that looks like a query gets FORMERR; anything else (or a reply) is dropped.
      if (raw.length < 12 || (raw.readUInt16BE(2) & 0x8000) !== 0) return undefined;
      const header = { id: raw.readUInt16BE(0), opcode: (raw.readUInt16BE(2) >> 11) & 0xf, rd: false, questionBytes: Buffer.alloc(0), questions: [] };
      return buildReply({ request: header, rcode: RCODE.FORMERR });
    }
    if (message.qr) return undefined;
    const isUpdate = message.opcode === OPCODE.UPDATE;
    const names = [...new Set(message.authorities.map((record) => record.name))];
    const refuse = (rcode: number, note: string, client: string | null = null, key: string | null = null): Buffer => {
      if (isUpdate) auditUpdate({ client, key, ip, names, rcode, note, started });
      return buildReply({ request: message, rcode });
    };
    if (lockout.blockedFor(ip) > 0) return refuse(RCODE.REFUSED, 'locked_out');
    let tsig: TsigRecord | undefined;
    try {
      tsig = readTsig(message);
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      return refuse(RCODE.FORMERR, 'malformed');
    }
    let verified: Verified | undefined;
    if (tsig !== undefined) {
      const client = await registry.byTsigKeyName(tsig.keyName);
      // Reserved as the HTTP protocols do; an HMAC is quick, so reserve, verify and settle run
      // without a pause: concurrent valid messages never hold reservations against each other.
      const guess = lockout.reserve(ip);
      if (!guess.allowed) return refuse(RCODE.REFUSED, 'locked_out');
      const key: TsigKey | undefined = client?.tsig === undefined ? undefined : { name: tsig.keyName, algorithm: client.tsig.algorithm, secret: Buffer.from(client.tsig.secret, 'base64') };
      const verdict = verifyRequest(message, tsig, key, nowSeconds());
      if (verdict === 'BADKEY' || verdict === 'BADSIG') guess.reservation.failed();
      else guess.reservation.succeeded();
      if (verdict === 'BADKEY' || verdict === 'BADSIG') {
        if (isUpdate) auditUpdate({ client: verdict === 'BADSIG' ? (client?.name ?? null) : null, key: tsig.keyName, ip, names, rcode: RCODE.NOTAUTH, note: verdict.toLowerCase(), started });
        return unsignedErrorReply(buildReply({ request: message, rcode: RCODE.NOTAUTH }), { request: tsig, nowSeconds: nowSeconds(), error: verdict });
      }
      if (key === undefined || client === undefined) return undefined;
      if (verdict === 'BADTIME') {
        if (isUpdate) auditUpdate({ client: client.name, key: tsig.keyName, ip, names, rcode: RCODE.NOTAUTH, note: 'badtime', started });
        return signReply(buildReply({ request: message, rcode: RCODE.NOTAUTH }), key, { request: tsig, nowSeconds: nowSeconds(), error: 'BADTIME' });
      }
      verified = { tsig, key, client };
    }
    const sign = (reply: Buffer): Buffer => (verified === undefined ? reply : signReply(reply, verified.key, { request: verified.tsig, nowSeconds: nowSeconds() }));
    if (verified !== undefined && !sourceAllowed(verified.client, ip)) return sign(refuse(RCODE.REFUSED, 'source_not_allowed', verified.client.name, verified.tsig.keyName));
    if (message.opcode === OPCODE.QUERY) return sign(await handleQuery(message));
    if (!isUpdate) return sign(buildReply({ request: message, rcode: RCODE.REFUSED }));
    if (verified === undefined) return refuse(RCODE.REFUSED, 'unsigned');
    const { client, tsig: requestTsig } = verified;
    return cache.once(`${ip}\n${message.id}\n${requestTsig.mac.toString('base64')}`, async () => {
      const result = await updates.handle(message, client);
      const propagated = await wait(result.added, transport);
      registry.touch(client);
      auditUpdate({ client: client.name, key: requestTsig.keyName, ip, names: result.names, rcode: result.rcode, ...(result.note !== undefined ? { note: result.note } : propagated ? {} : { note: 'wait_limit' }), started });
      return sign(buildReply({ request: message, rcode: result.rcode }));
    });
  };

  /** `send` resolves once the reply left (a socket closed before that would drop it). */
  const guarded = async (raw: Buffer, peer: string, transport: Transport, send: (reply: Buffer) => Promise<void>): Promise<void> => {
    const ip = normalizeAddress(peer);
    inFlight++;
    try {
      const reply = await answer(raw, ip, transport);
      if (reply !== undefined && limit.take(ip)) await send(reply);
    } catch (error) {
      log.warn(`DNS message from ${ip} failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      inFlight--;
      if (inFlight === 0) drained?.();
    }
  };

  const udpType = options.host.includes(':') ? 'udp6' : 'udp4';
  const udp: Socket = createSocket({ type: udpType, reuseAddr: false });
  udp.on('message', (raw: Buffer, peer: RemoteInfo) => {
    void guarded(raw, peer.address, 'udp', (reply) => new Promise<void>((resolve) => udp.send(bytes(reply), peer.port, peer.address, () => resolve())));
  });
  udp.on('error', (error) => log.warn(`DNS UDP socket: ${error.message}`));

  const connections = new Set<TcpSocket>();
  // One address cannot hold every connection slot open: the HTTP side's rule, with its own count.
  const perAddress = new ConnectionGuard({
    ...(options.maxConnectionsPerAddress === undefined ? {} : { maxPerAddress: options.maxConnectionsPerAddress }),
    ...(options.ipv6Prefix === undefined ? {} : { ipv6Prefix: options.ipv6Prefix }),
  });
  const tcp: Server = createServer((socket) => {
    const source = normalizeAddress(socket.remoteAddress ?? '');
    if (!perAddress.admit(source)) {
      socket.destroy();
      return;
    }
    connections.add(socket);
    socket.on('close', () => {
      connections.delete(socket);
      perAddress.release(source);
    });
    const idleMs = options.tcpIdleMs ?? 10_000;
    socket.on('timeout', () => socket.destroy());
    socket.setTimeout(idleMs);
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    let chain = Promise.resolve();
    // Idle means no message being answered: an UPDATE waiting for the nameservers is not idle.
    let working = 0;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([bytes(pending), bytes(chunk)]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (length > MAX_MESSAGE_BYTES) {
          socket.destroy();
          return;
        }
        if (pending.length < 2 + length) break;
        const raw = Buffer.from(bytes(pending.subarray(2, 2 + length)));
        pending = pending.subarray(2 + length);
        // One message at a time per connection: replies go back in order.
        if (working++ === 0) socket.setTimeout(0);
        chain = chain
          .then(() =>
            guarded(
              raw,
              socket.remoteAddress ?? '',
              'tcp',
              (reply) =>
                new Promise<void>((resolve) => {
                  if (socket.destroyed) return resolve();
                  const prefix = Buffer.alloc(2);
                  prefix.writeUInt16BE(reply.length);
                  socket.write(bytes(Buffer.concat([bytes(prefix), bytes(reply)])), () => resolve());
                }),
            ),
          )
          .finally(() => {
            if (--working === 0 && !socket.destroyed) socket.setTimeout(idleMs);
          });
      }
    });
  });
  tcp.maxConnections = 256;

  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(options.port, options.host, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  const address = tcp.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  try {
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, options.host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    throw error;
  }

  return {
    host: options.host,
    port,
    async close(graceMs = 9_000) {
      const tcpClosed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise<void>((resolve) => (drained = resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
        clearTimeout(timer);
      }
      for (const socket of connections) socket.destroy();
      udp.close();
      await tcpClosed;
      cache.clear();
    },
  };
}
