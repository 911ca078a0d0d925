/**
 * Small HTTP helpers for the serve protocols: a size-bounded body reader, JSON answers, and
 * key lookup without regard to case (acme-dns is Go: `SubDomain` and `subdomain` are one key).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const MAX_BODY_BYTES = 4096;

export class BodyTooLarge extends Error {}

export function readBody(request: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? '0');
  if (declared > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    request.once('end', () => resolve(new TextDecoder().decode(concat(chunks))));
    request.once('error', reject);
    request.once('aborted', () => reject(new Error('request aborted')));
  });
}

/** A JSON object, or undefined for anything else (arrays, scalars, bad JSON). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The string at `key`, matched without regard to case; undefined when absent or not a string. */
export function stringField(body: Record<string, unknown>, key: string): string | undefined {
  const wanted = key.toLowerCase();
  for (const [name, value] of Object.entries(body)) {
    if (name.toLowerCase() === wanted && typeof value === 'string') return value;
  }
  return undefined;
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  response.end(text);
}

/** HTTP Basic credentials, or undefined when the header is missing or malformed. */
export function basicCredentials(request: IncomingMessage): { username: string; password: string } | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** What a protocol handler answers, plus what the audit log records about it. */
export interface HandlerResult {
  readonly status: number;
  readonly body: unknown;
  /** The client's registry name once authenticated. */
  readonly client: string | null;
  /** The record name asked for, normalized; null when none could be read. */
  readonly name: string | null;
  readonly note?: string;
  readonly headers?: Record<string, string>;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
