/**
 * The one place secrets are redacted. Configuration registers every secret it reads; every
 * line we print (messages, errors, debug output) passes through `redact`.
 */
const secrets = new Set<string>();

/** Remembers a secret (and its Basic-auth encodings) so it is masked wherever it would be printed. */
export function registerSecret(secret: string | undefined): void {
  if (secret === undefined || secret.length < 4) return;
  secrets.add(secret);
  try {
    secrets.add(encodeURIComponent(secret));
  } catch {
    // A lone UTF-16 surrogate has no URI encoding (URIError); such a secret is refused later
    // as non-ASCII, and must not crash the configuration parser first.
  }
}

/** Also mask a value derived from secrets, such as a Basic authorization header. */
export function registerDerivedSecret(derived: string): void {
  if (derived.length >= 4) secrets.add(derived);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  return (
    out
      .replace(/(authorization:\s*basic\s+)[A-Za-z0-9+/=]+/gi, '$1[redacted]')
      // The one-time code of a login, and the session key in the login answer (debug output
      // prints it before the key is registered above), also inside JSON-quoted text.
      .replace(/(x-auth-token:\s*)[^;\s]+/gi, '$1[redacted]')
      .replace(/(api_key\\?"\s*:\s*\\?")[^"\\]+/gi, '$1[redacted]')
  );
}
