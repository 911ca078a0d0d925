/**
 * The TLS settings of a provider's configuration, apart from the agent that applies them
 * (tls-agent.ts): configuration types are part of the public declarations, and importing them
 * must not pull undici's types (and with them @types/node) into a consumer's type check.
 */
export interface TlsTrust {
  /** PEM of an extra CA to trust besides the system CAs. */
  readonly caPem: string | undefined;
  /** SHA-256 fingerprint of the server's certificate: 64 lower-case hex digits. */
  readonly fingerprint: string | undefined;
}
