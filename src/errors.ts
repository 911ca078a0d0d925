/**
 * Every failure the tool reports is a `MiabDns01Error` with a stable `code`.
 * Users (and our CLI) match on `code`, never on the message text.
 * The exit code each code maps to is fixed here, in one table, so the CLI
 * and the hooks agree with `shared/spec/contract.md`.
 */

/** Codes for problems the user fixes in their configuration or input: exit 2, nothing written. */
export type UsageErrorCode =
  | 'usage'
  | 'config-missing'
  | 'config-invalid'
  | 'config-insecure-permissions'
  | 'config-insecure-url'
  | 'invalid-name'
  | 'invalid-value'
  | 'zone-not-found'
  | 'cname-conflict'
  | 'auth-invalid-credentials'
  | 'missing-totp-token'
  | 'auth-invalid-totp'
  | 'auth-not-admin'
  | 'tls-untrusted'
  | 'tls-fingerprint-mismatch'
  | 'serve-client-exists'
  | 'serve-client-not-found';

/** Codes for operations that failed at run time: exit 1. */
export type OperationErrorCode =
  | 'auth-session-rejected'
  | 'box-unreachable'
  | 'box-http'
  | 'box-rejected'
  | 'box-timeout'
  | 'lock-timeout'
  | 'dns-query-failed'
  | 'nameserver-discovery-failed'
  | 'propagation-timeout'
  | 'acme-failed'
  | 'state-corrupt';

/** Stopped by a signal after removing what the process wrote: exit 128 + signal number. */
export type SignalErrorCode = 'interrupted';

export type ErrorCode = UsageErrorCode | OperationErrorCode | SignalErrorCode;

const USAGE_CODES: ReadonlySet<string> = new Set<UsageErrorCode>([
  'usage',
  'config-missing',
  'config-invalid',
  'config-insecure-permissions',
  'config-insecure-url',
  'invalid-name',
  'invalid-value',
  'zone-not-found',
  'cname-conflict',
  'auth-invalid-credentials',
  'missing-totp-token',
  'auth-invalid-totp',
  'auth-not-admin',
  'tls-untrusted',
  'tls-fingerprint-mismatch',
  'serve-client-exists',
  'serve-client-not-found',
]);

export interface MiabDns01ErrorOptions {
  readonly cause?: unknown;
  /** Exit status override, used by `interrupted` (128 + signal number). */
  readonly exitCode?: number;
}

export class MiabDns01Error extends Error {
  override readonly name: string = 'MiabDns01Error';
  readonly code: ErrorCode;
  /** Process exit status this error maps to (0 is never used). */
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: MiabDns01ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = options.exitCode ?? (USAGE_CODES.has(code) ? 2 : 1);
  }
}

/** Bad input or configuration, found before anything is written to the box. */
export class ConfigError extends MiabDns01Error {
  override readonly name = 'ConfigError';
  declare readonly code: UsageErrorCode;
  constructor(code: UsageErrorCode, message: string, options: MiabDns01ErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The box refused our credentials, or we could not obtain a session. */
export class AuthError extends MiabDns01Error {
  override readonly name = 'AuthError';
  constructor(
    code: 'auth-invalid-credentials' | 'missing-totp-token' | 'auth-invalid-totp' | 'auth-not-admin' | 'auth-session-rejected',
    message: string,
    options: MiabDns01ErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

/** An HTTP exchange with the box's admin API failed. */
export class BoxApiError extends MiabDns01Error {
  override readonly name = 'BoxApiError';
  /** HTTP status, when the box answered at all. */
  readonly status: number | undefined;
  /** Start of the response body (plain text), when the box answered. */
  readonly body: string | undefined;
  constructor(
    code: 'box-unreachable' | 'box-http' | 'box-rejected' | 'box-timeout' | 'tls-untrusted' | 'tls-fingerprint-mismatch',
    message: string,
    details: { status?: number; body?: string } & MiabDns01ErrorOptions = {},
  ) {
    super(code, message, details);
    this.status = details.status;
    this.body = details.body;
  }
}

/** What one nameserver last said about the records being waited for. */
export interface NameserverReport {
  /** `host:port` of the server asked. */
  readonly server: string;
  /** Human summary: `ok`, `stale (has: ...)`, `NXDOMAIN`, `REFUSED`, `SERVFAIL`, `no answer (timeout)`, ... */
  readonly lastAnswer: string;
  readonly ok: boolean;
}

/** DNS queries or the propagation wait failed. */
export class PropagationError extends MiabDns01Error {
  override readonly name = 'PropagationError';
  readonly nameservers: readonly NameserverReport[];
  constructor(
    code: 'dns-query-failed' | 'nameserver-discovery-failed' | 'propagation-timeout',
    message: string,
    details: { nameservers?: readonly NameserverReport[] } & MiabDns01ErrorOptions = {},
  ) {
    super(code, message, details);
    this.nameservers = details.nameservers ?? [];
  }
}

/** The ACME server refused an order, an authorization or the finalization. */
export class AcmeError extends MiabDns01Error {
  override readonly name = 'AcmeError';
  /** The ACME problem document, when the server sent one. */
  readonly problem: unknown;
  constructor(message: string, details: { problem?: unknown } & MiabDns01ErrorOptions = {}) {
    super('acme-failed', message, details);
    this.problem = details.problem;
  }
}

export function isMiabDns01Error(error: unknown): error is MiabDns01Error {
  return error instanceof MiabDns01Error;
}
