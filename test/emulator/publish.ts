/**
 * Hands rendered zones to the nameservers. The primary is the box's own nsd, reloaded inside
 * the API request; the secondary stands for an external nameserver fed by NOTIFY + AXFR that
 * lags behind: each snapshot reaches it `lagMs` after the change, strictly in order.
 */
import type { ZoneData, ZonePublisher } from '../fixtures/zones.js';
import type { SecondaryOptions } from './types.js';

interface PendingDelivery {
  readonly timer: NodeJS.Timeout;
  /** Resolves the wait: true to deliver, false when cancelled by stop(). */
  readonly release: (deliver: boolean) => void;
}

export class ZoneDistributor {
  private lagMs: number;
  private chain: Promise<void> = Promise.resolve();
  private readonly pending = new Set<PendingDelivery>();
  private stopped = false;
  readonly secondaryErrors: unknown[] = [];

  constructor(
    private readonly primary: ZonePublisher | undefined,
    private readonly secondary: SecondaryOptions | undefined,
  ) {
    this.lagMs = secondary?.lagMs ?? 0;
  }

  /** At daemon start both servers already serve the zones: no lag. */
  async publishInitial(zones: readonly ZoneData[]): Promise<void> {
    await this.primary?.publish(zones);
    await this.secondary?.publisher.publish(zones);
  }

  /**
   * After a change: the primary inside the request (errors propagate: the daemon answers
   * 500), then the secondary's copy is scheduled.
   */
  async publishChange(zones: readonly ZoneData[]): Promise<void> {
    await this.primary?.publish(zones);
    this.scheduleSecondary(zones);
  }

  setLag(ms: number): void {
    this.lagMs = ms;
  }

  /** Resolves once every delivery scheduled so far has happened (or been cancelled). */
  idle(): Promise<void> {
    return this.chain;
  }

  stop(): void {
    this.stopped = true;
    for (const delivery of this.pending) {
      clearTimeout(delivery.timer);
      delivery.release(false);
    }
    this.pending.clear();
  }

  private scheduleSecondary(zones: readonly ZoneData[]): void {
    const secondary = this.secondary;
    if (!secondary || this.stopped) return;
    const due = new Promise<boolean>((resolve) => {
      const delivery: PendingDelivery = {
        timer: setTimeout(() => {
          this.pending.delete(delivery);
          resolve(true);
        }, this.lagMs),
        release: resolve,
      };
      this.pending.add(delivery);
    });
    // Chaining on the previous delivery keeps snapshots in order even if the lag was
    // shortened in between (an AXFR never brings an older serial after a newer one).
    this.chain = Promise.all([this.chain, due]).then(async ([, deliver]) => {
      if (!deliver || this.stopped) return;
      try {
        await secondary.publisher.publish(zones);
      } catch (error) {
        this.secondaryErrors.push(error);
      }
    });
  }
}
