/**
 * Injected failures: what nginx and a struggling daemon do to a client (502 during a
 * restart, 504 after the 60 s proxy timeout while the change still lands, 500 after the
 * record was saved, dropped connections, slow requests).
 */
import type { Fault } from './types.js';

export type StatusFault = Extract<Fault, { status: number }>;
export type ResetFault = Extract<Fault, { reset: true }>;

export function isStatusFault(fault: Fault): fault is StatusFault {
  return 'status' in fault;
}

export function isResetFault(fault: Fault): fault is ResetFault {
  return 'reset' in fault;
}

/** Whether the daemon handles the request at all before the fault shows. */
export function appliesChange(fault: Fault): boolean {
  if (isStatusFault(fault) || isResetFault(fault)) return fault.afterApply === true;
  return true; // a pure delay
}

export class FaultQueue {
  private queue: Fault[] = [];

  add(faults: readonly Fault[]): void {
    for (const fault of faults) {
      if (isStatusFault(fault) && ![500, 502, 503, 504].includes(fault.status)) {
        throw new Error(`unsupported fault status ${fault.status}`);
      }
      this.queue.push(fault);
    }
  }

  pending(): readonly Fault[] {
    return [...this.queue];
  }

  /** Removes and returns the first fault matching this request. */
  take(method: string, fullPath: string, daemonPath: string): Fault | undefined {
    const index = this.queue.findIndex((fault) => {
      const match = fault.match;
      if (!match) return true;
      if (match.method !== undefined && match.method.toUpperCase() !== method.toUpperCase()) return false;
      if (match.pathPrefix !== undefined) {
        return daemonPath.startsWith(match.pathPrefix) || fullPath.startsWith(match.pathPrefix);
      }
      return true;
    });
    if (index < 0) return undefined;
    const [fault] = this.queue.splice(index, 1);
    return fault;
  }
}
