/**
 * Moving DNS messages over UDP and TCP (node:dgram / node:net only: the system resolver is
 * never involved, so nothing gets cached on the way). One exchange = one socket, so every
 * query gets a fresh random source port from the kernel.
 */
import { createSocket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import { formatServer, type DnsServer } from './address.js';

/**
 * Why no usable reply arrived. `no-route`: this machine has no route to the address
 * (typically IPv6 on an IPv4-only host), which retrying soon will not change. `refused`:
 * the host answered that nothing listens on the port.
 */
export type TransportFailureKind = 'timeout' | 'refused' | 'no-route' | 'network' | 'bad-reply';

export class TransportFailure extends Error {
  override readonly name = 'TransportFailure';
  constructor(
    readonly kind: TransportFailureKind,
    message: string,
  ) {
    super(message);
  }
}

export interface ExchangeOptions {
  /** Give up after this long without an accepted reply. */
  readonly timeoutMs: number;
  /** Rejects the exchange with `signal.reason` and closes the socket. */
  readonly signal?: AbortSignal;
  /**
   * Checks a reply; throws to reject it (the reason is kept for the failure message). Over
   * UDP a rejected datagram is ignored and we keep listening: it may be a late reply to an
   * earlier query, or forged. Over TCP the connection is ours, so a bad reply fails.
   */
  readonly accept: (reply: Buffer) => void;
}

/**
 * A plain view of a Buffer's bytes. @types/node 20's Buffer is not assignable to the
 * generic Uint8Array of TypeScript 5.9's lib, which node:dgram / node:net expect.
 */
function bytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Every socket problem becomes a TransportFailure: nothing from node:dgram / node:net escapes. */
function describeSocketError(server: DnsServer, caught: unknown): TransportFailure {
  const where = formatServer(server);
  const error: NodeJS.ErrnoException = caught instanceof Error ? caught : new Error(String(caught));
  switch (error.code) {
    case 'ECONNREFUSED':
      return new TransportFailure('refused', `nothing listens on ${where} (connection refused)`);
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return new TransportFailure('no-route', `this machine has no route to ${where} (${error.code})`);
    default:
      return new TransportFailure('network', `${where}: ${error.code ?? error.message}`);
  }
}

/**
 * Runs `start` with a settle-once callback pair, a timer and the abort signal wired up;
 * `cleanup` always runs exactly once.
 */
function exchange(
  server: DnsServer,
  options: ExchangeOptions,
  onTimeout: () => TransportFailure,
  start: (settle: { resolve: (reply: Buffer) => void; reject: (error: unknown) => void }) => () => void,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    options.signal?.throwIfAborted();
    let settled = false;
    let cleanup: () => void = () => undefined;
    const finish = (action: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      cleanup();
      action();
    };
    const onAbort = (): void => finish(() => reject(options.signal?.reason));
    const timer = setTimeout(() => finish(() => reject(onTimeout())), options.timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      cleanup = start({ resolve: (reply) => finish(() => resolve(reply)), reject: (error) => finish(() => reject(error)) });
    } catch (error) {
      // Creating the socket or starting the connection can throw synchronously (a bad
      // address, no file descriptors left): still a failure of this exchange, not a crash.
      finish(() => reject(error instanceof TransportFailure ? error : describeSocketError(server, error)));
    }
    if (settled) cleanup();
  });
}

/**
 * Sends `query` over UDP and resolves with the first reply `accept` takes. The query is sent
 * again once, halfway through the timeout, since a single lost datagram is common and the
 * server answers the repeat with the same ID.
 */
export function udpExchange(server: DnsServer, query: Buffer, options: ExchangeOptions): Promise<Buffer> {
  let lastRejection: string | undefined;
  return exchange(
    server,
    options,
    () =>
      new TransportFailure(
        'timeout',
        `no reply from ${formatServer(server)} over UDP within ${options.timeoutMs} ms${lastRejection ? ` (ignored a datagram: ${lastRejection})` : ''}`,
      ),
    ({ resolve, reject }) => {
      const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
      let resend: NodeJS.Timeout | undefined;
      socket.on('error', (error) => reject(describeSocketError(server, error)));
      socket.on('message', (reply) => {
        try {
          options.accept(reply);
        } catch (error) {
          lastRejection = error instanceof Error ? error.message : String(error);
          return;
        }
        resolve(reply);
      });
      // A connected socket only receives datagrams from the server's address and port, and
      // gets ICMP "port unreachable" reported as ECONNREFUSED instead of waiting it out.
      // connect() reports a failure (ENETUNREACH for an IPv6 address on a host without an
      // IPv6 route, ...) only to its callback: the socket is then unconnected, and a send
      // without a port would throw outside this promise.
      socket.connect(server.port, server.host, (error?: Error) => {
        if (error) {
          reject(describeSocketError(server, error));
          return;
        }
        const send = (): void => {
          try {
            socket.send(bytes(query), (sendError) => {
              if (sendError) reject(describeSocketError(server, sendError));
            });
          } catch (sendError) {
            reject(describeSocketError(server, sendError));
          }
        };
        send();
        resend = setTimeout(send, options.timeoutMs / 2);
      });
      return () => {
        clearTimeout(resend);
        socket.removeAllListeners('message');
        // close() throws if the socket never finished binding; either way it is gone.
        try {
          socket.close();
        } catch {
          // already closed
        }
      };
    },
  );
}

/** Sends `query` over TCP (two-byte length prefix, RFC 1035 4.2.2) and reads one reply. */
export function tcpExchange(server: DnsServer, query: Buffer, options: ExchangeOptions): Promise<Buffer> {
  return exchange(
    server,
    options,
    () => new TransportFailure('timeout', `no reply from ${formatServer(server)} over TCP within ${options.timeoutMs} ms`),
    ({ resolve, reject }) => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length);
      const socket = connect({ host: server.host, port: server.port, noDelay: true });
      let received = Buffer.alloc(0);
      socket.on('error', (error) => reject(describeSocketError(server, error)));
      socket.on('connect', () => socket.write(bytes(Buffer.concat([bytes(prefix), bytes(query)]))));
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([bytes(received), bytes(chunk)]);
        if (received.length < 2) return;
        const length = received.readUInt16BE(0);
        if (received.length < 2 + length) return;
        const reply = received.subarray(2, 2 + length);
        try {
          options.accept(reply);
        } catch (error) {
          reject(new TransportFailure('bad-reply', `${formatServer(server)} sent a bad reply over TCP: ${error instanceof Error ? error.message : String(error)}`));
          return;
        }
        resolve(reply);
      });
      socket.on('end', () => reject(new TransportFailure('network', `${formatServer(server)} closed the TCP connection before replying in full`)));
      return () => socket.destroy();
    },
  );
}
