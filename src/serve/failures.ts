/**
 * Maps engine and box failures to HTTP answers. The answer carries only the stable error code:
 * messages may name the box's zones or its URL, which are no business of a scoped client.
 */
import { MiabDns01Error } from '../errors.js';
import type { Logger } from '../util/log.js';

export function failureStatus(error: unknown): number {
  if (!(error instanceof MiabDns01Error)) return 500;
  switch (error.code) {
    case 'invalid-name':
    case 'invalid-value':
    case 'zone-not-found':
    case 'cname-conflict':
      return 400;
    case 'box-timeout':
      return 504;
    default:
      return 502;
  }
}

export function failureBody(error: unknown): { error: string } {
  return { error: error instanceof MiabDns01Error ? error.code : 'internal_error' };
}

export function logFailure(log: Logger, what: string, error: unknown): void {
  log.warn(`${what}: ${error instanceof MiabDns01Error ? `[${error.code}] ` : ''}${error instanceof Error ? error.message : String(error)}`);
}
