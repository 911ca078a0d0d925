/**
 * A cap on the connections one source address may hold open at once, well under the global
 * `maxConnections`: one peer's idle or slow sockets cannot take every slot. Counted by
 * `addressKey` (IPv6 by its /64). Peers in `exempt` (the `--trust-proxy` ranges: every request
 * of a reverse proxy comes from its address) are not capped.
 * Usable by any `net.Server` (HTTP, HTTPS, and the RFC 2136 front-end's TCP listener).
 */
import type { Server, Socket } from 'node:net';
import { addressKey, DEFAULT_IPV6_PREFIX } from './address-key.js';
import type { AddressRanges } from './cidr.js';

export const DEFAULT_CONNECTIONS_PER_ADDRESS = 32;

export interface ConnectionGuardOptions {
  /** @default 32 */
  readonly maxPerAddress?: number;
  /** @default 64 */
  readonly ipv6Prefix?: number;
  readonly exempt?: AddressRanges;
  /** Told of each refused connection (for a rate-limited log line). */
  readonly onRefused?: (address: string) => void;
}

export class ConnectionGuard {
  readonly #max: number;
  readonly #ipv6Prefix: number;
  readonly #exempt: AddressRanges | undefined;
  readonly #onRefused: ((address: string) => void) | undefined;
  readonly #open = new Map<string, number>();

  constructor(options: ConnectionGuardOptions = {}) {
    this.#max = options.maxPerAddress ?? DEFAULT_CONNECTIONS_PER_ADDRESS;
    this.#ipv6Prefix = options.ipv6Prefix ?? DEFAULT_IPV6_PREFIX;
    this.#exempt = options.exempt;
    this.#onRefused = options.onRefused;
  }

  /** Takes a slot for a connection from `address`; false when it already holds its share. Give it back with `release`. */
  admit(address: string): boolean {
    if (this.#exempt?.contains(address) === true) return true;
    const key = addressKey(address, this.#ipv6Prefix);
    const open = this.#open.get(key) ?? 0;
    if (open >= this.#max) return false;
    this.#open.set(key, open + 1);
    return true;
  }

  release(address: string): void {
    if (this.#exempt?.contains(address) === true) return;
    const key = addressKey(address, this.#ipv6Prefix);
    const left = (this.#open.get(key) ?? 1) - 1;
    if (left <= 0) this.#open.delete(key);
    else this.#open.set(key, left);
  }

  /** Connections held by `address` now. */
  openFrom(address: string): number {
    return this.#open.get(addressKey(address, this.#ipv6Prefix)) ?? 0;
  }

  /** Applies the cap to every connection the server accepts: over it, the socket is closed at once. */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.#guard(socket));
  }

  #guard(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    if (!this.admit(address)) {
      this.#onRefused?.(address);
      socket.destroy();
      return;
    }
    socket.once('close', () => this.release(address));
  }
}
