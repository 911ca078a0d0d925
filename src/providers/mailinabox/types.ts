/** How the box client authenticates: each call asks for a header; a rejection may refresh it once. */
export interface Authenticator {
  readonly mode: 'system-key' | 'session';
  /** The `Authorization` header value for the next request. */
  authorization(): Promise<string>;
  /**
   * Called when the box answered 401 to `rejected`. Returns a different header to retry with
   * once, or undefined when nothing fresh can be had (the caller then reports the 401).
   */
  refreshAfterRejection(rejected: string): Promise<string | undefined>;
}

/** What `POST /login` answered (always HTTP 200 on the box). */
export interface LoginResponse {
  readonly status: string;
  readonly reason?: string;
  readonly api_key?: string;
  readonly privileges?: readonly string[];
}

/** The two calls of the box API that authentication needs, implemented by the box client. */
export interface LoginEndpoint {
  login(authorization: string, totpCode: string | undefined): Promise<LoginResponse>;
  logout(authorization: string): Promise<void>;
  /**
   * True when a failed `login` surely never reached the box's daemon (connection refused,
   * name not resolved, TLS failure, a proxy's 502): it spent no TOTP code and no attempt
   * toward the box's ban on failed logins.
   */
  loginNeverReached?(error: unknown): boolean;
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}
