/**
 * Every failure the tool reports is a `MiabDns01Error` with a stable `code`.
 * Users (and our CLI) match on `code`, never on the message text.
 * `ERROR_CODES` is the one table of codes: it defines the `ErrorCode` type, the exit status
 * each code maps to, and the table of docs/error-codes.md (a test keeps the page equal to it).
 */

/** One row of the table: the exit status and what the user should do. */
export interface ErrorCodeInfo {
  /** 2: usage or configuration, found before anything is written; 1: the operation failed; 'signal': 128 + N. */
  readonly exit: 1 | 2 | 'signal';
  readonly meaning: string;
}

export const ERROR_CODES = {
  usage: { exit: 2, meaning: 'wrong arguments: see `miab-dns01 help <command>`' },
  'config-missing': { exit: 2, meaning: 'a setting or a file it names is missing: the message names every one' },
  'config-invalid': { exit: 2, meaning: 'a setting has the wrong form: the message names the variable (or file and line) and the form expected' },
  'config-insecure-permissions': { exit: 2, meaning: 'the credentials file is readable by others: `chmod 600` it' },
  'config-insecure-url': { exit: 2, meaning: 'plain `http://` to a non-loopback host: use `https://`' },
  'invalid-name': { exit: 2, meaning: 'the name is malformed' },
  'invalid-value': { exit: 2, meaning: 'the TXT value is malformed' },
  'zone-not-found': { exit: 2, meaning: "the name is in none of the box's zones (the message lists them)" },
  'cname-conflict': { exit: 2, meaning: 'a CNAME at the challenge name leads outside the box' },
  'auth-invalid-credentials': { exit: 2, meaning: 'wrong email or password (never retried)' },
  'missing-totp-token': { exit: 2, meaning: 'two-factor authentication is on: set `MIAB_TOTP_SECRET`' },
  'auth-invalid-totp': { exit: 2, meaning: 'the TOTP code was refused: check the secret and the clock' },
  'auth-not-admin': { exit: 2, meaning: 'the account is not an admin of the box' },
  'tls-untrusted': { exit: 2, meaning: "the box's certificate is not trusted: set `MIAB_CA_FILE` or `MIAB_TLS_FINGERPRINT`" },
  'tls-fingerprint-mismatch': { exit: 2, meaning: "the box's certificate is not the pinned one" },
  'box-dialect-mismatch': { exit: 2, meaning: 'the box is Power Mail-in-a-Box (it refused a plain-body value): set `MIAB_FLAVOR=power`; no DELETE was sent, and records left are listed and journaled' },
  'unsafe-to-delete': { exit: 2, meaning: "the DNS host says a DELETE there would remove more than the one value: the message says what to change; no DELETE was sent, and records left are listed and journaled" },
  'serve-client-exists': { exit: 2, meaning: '`clients add`: a client of that name exists already' },
  'serve-client-not-found': { exit: 2, meaning: '`clients remove`: no client of that name' },
  'auth-session-rejected': { exit: 1, meaning: 'the box refused a fresh session too' },
  'box-unreachable': { exit: 1, meaning: 'the box could not be reached (connection refused, name not found, network down)' },
  'box-timeout': { exit: 1, meaning: 'the box did not answer in time' },
  'box-http': { exit: 1, meaning: 'the box answered with an HTTP error' },
  'box-rejected': { exit: 1, meaning: 'the box refused the request (its message is quoted)' },
  'lock-timeout': { exit: 1, meaning: 'another process held a lock for too long' },
  'nameserver-discovery-failed': { exit: 1, meaning: "the zone's nameservers could not be found" },
  'dns-query-failed': { exit: 1, meaning: 'a DNS query failed in a way no retry can mend (the message names the server and the error)' },
  'propagation-timeout': { exit: 1, meaning: 'not every nameserver served the value in time (the message shows what each said)' },
  'state-corrupt': { exit: 1, meaning: 'a state file (e.g. the client registry of `serve`) is damaged: the message names it and how to recover' },
  'acme-failed': { exit: 1, meaning: "the ACME server refused, or the deploy hook failed; the server's problem document is in the message" },
  'agent-lost': { exit: 1, meaning: "the run's agent (the process that runs certbot's hook calls) stopped before it answered: run certbot again; `MIAB_DNS01_AGENT=0` turns the agent off" },
  'cannot-verify': { exit: 1, meaning: 'the record store cannot read TXT values (the serve client: its protocol has no read), so nothing could be checked: ask the nameservers' },
  interrupted: { exit: 'signal', meaning: 'stopped by signal N (exit 128+N) after removing what the process wrote' },
} as const satisfies Readonly<Record<string, ErrorCodeInfo>>;

export type ErrorCode = keyof typeof ERROR_CODES;

type CodesWithExit<E> = { [K in ErrorCode]: (typeof ERROR_CODES)[K]['exit'] extends E ? K : never }[ErrorCode];
/** Codes for problems the user fixes in their configuration or input: exit 2, nothing written. */
export type UsageErrorCode = CodesWithExit<2>;
/** Codes for operations that failed at run time: exit 1. */
export type OperationErrorCode = CodesWithExit<1>;
/** Stopped by a signal after removing what the process wrote: exit 128 + signal number. */
export type SignalErrorCode = CodesWithExit<'signal'>;

/** The exit status for `code`; a signal's status is given by the error itself. */
export function exitCodeOf(code: ErrorCode): number {
  const { exit } = ERROR_CODES[code];
  return exit === 'signal' ? 130 : exit;
}

/** The table of docs/error-codes.md, generated from `ERROR_CODES`. */
export function errorCodeTableMarkdown(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, info]: [string, ErrorCodeInfo]) => `| \`${code}\` | ${info.exit === 'signal' ? '128+N' : info.exit} | ${info.meaning} |`);
  return ['| code | exit | meaning / what to do |', '|---|---|---|', ...rows].join('\n');
}

export interface MiabDns01ErrorOptions {
  readonly cause?: unknown;
  /** Exit status override, used by `interrupted` (128 + signal number). */
  readonly exitCode?: number;
  /** Marks the error as "a DELETE is unsafe on this host": see `UnsafeToDelete`. */
  readonly unsafeToDelete?: UnsafeToDelete;
}

/**
 * A provider's statement that deleting a record on its host would remove more than that one
 * value (Mail-in-a-Box's fork, in the dialect of the upstream box, deletes every value at the
 * name). The engine then sends no DELETE, keeps what it wrote journaled and tells the user
 * with the provider's own words, without knowing which host it is.
 */
export interface UnsafeToDelete {
  /** Why, as a clause: `the box speaks the Power Mail-in-a-Box dialect`. */
  readonly reason: string;
  /** What the user does before cleaning up, as a sentence: `Set MIAB_FLAVOR=power`. */
  readonly fix: string;
}

export class MiabDns01Error extends Error {
  override readonly name: string = 'MiabDns01Error';
  readonly code: ErrorCode;
  /** Process exit status this error maps to (0 is never used). */
  readonly exitCode: number;
  /** Set when the provider says a DELETE would be unsafe on its host. */
  readonly unsafeToDelete: UnsafeToDelete | undefined;

  constructor(code: ErrorCode, message: string, options: MiabDns01ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = options.exitCode ?? exitCodeOf(code);
    this.unsafeToDelete = options.unsafeToDelete;
  }
}

/** The provider's "unsafe to delete here" statement carried by `error`, if any. */
export function unsafeToDeleteOf(error: unknown): UnsafeToDelete | undefined {
  return error instanceof MiabDns01Error ? error.unsafeToDelete : undefined;
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
    code: 'nameserver-discovery-failed' | 'dns-query-failed' | 'propagation-timeout',
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
