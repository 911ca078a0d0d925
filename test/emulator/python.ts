/**
 * Small re-creations of Python/Flask behaviour the daemon's answers depend on, so that the
 * emulator's bytes match the real box's (a client that parses too strictly or too loosely
 * should fail here the same way it would fail against a box).
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Characters Python's `str.strip()` removes that are ASCII (the body is ASCII by then). */
const PY_ASCII_WHITESPACE = new Set([' ', '\t', '\n', '\r', '\v', '\f', '\x1c', '\x1d', '\x1e', '\x1f']);

/** `s.strip()` for ASCII strings. JS `trim()` differs: it keeps \x1c-\x1f. */
export function pyStrip(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && PY_ASCII_WHITESPACE.has(s[start] ?? '')) start++;
  while (end > start && PY_ASCII_WHITESPACE.has(s[end - 1] ?? '')) end--;
  return s.slice(start, end);
}

/** `bytes.decode("ascii", "ignore")`: every byte >= 0x80 is dropped. */
export function asciiIgnore(body: Buffer): string {
  let out = '';
  for (const byte of body) if (byte < 0x80) out += String.fromCharCode(byte);
  return out;
}

function pyString(s: string): string {
  // json.dumps uses ensure_ascii=True: every non-ASCII UTF-16 unit becomes \uXXXX.
  return JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `json.dumps(value, indent=..., sort_keys=...)`. Without indent Python separates with
 * ", " and ": " (unlike JSON.stringify); with indent it uses "," and ": ".
 */
export function pyJsonDumps(value: JsonValue, options: { indent?: number; sortKeys?: boolean } = {}): string {
  const { indent, sortKeys = false } = options;
  const render = (v: JsonValue, depth: number): string => {
    if (v === null) return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return String(v);
    if (typeof v === 'string') return pyString(v);
    const entries: string[] = Array.isArray(v)
      ? v.map((item) => render(item, depth + 1))
      : (sortKeys ? Object.keys(v).sort() : Object.keys(v)).map(
          (key) => `${pyString(key)}: ${render((v as { [key: string]: JsonValue })[key] ?? null, depth + 1)}`,
        );
    const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
    if (entries.length === 0) return open + close;
    if (indent === undefined) return open + entries.join(', ') + close;
    const inner = '\n' + ' '.repeat(indent * (depth + 1));
    const outer = '\n' + ' '.repeat(indent * depth);
    return open + inner + entries.join(',' + inner) + outer + close;
  };
  return render(value, 0);
}

/** Werkzeug's default HTML error page (what Flask sends for 404/405/500). */
export function werkzeugErrorPage(status: number, name: string, description: string): string {
  return `<!doctype html>\n<html lang=en>\n<title>${status} ${name}</title>\n<h1>${name}</h1>\n<p>${description}</p>\n`;
}

export const FLASK_NOT_FOUND = werkzeugErrorPage(
  404,
  'Not Found',
  'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.',
);
export const FLASK_METHOD_NOT_ALLOWED = werkzeugErrorPage(
  405,
  'Method Not Allowed',
  'The method is not allowed for the requested URL.',
);
export const FLASK_INTERNAL_ERROR = werkzeugErrorPage(
  500,
  'Internal Server Error',
  'The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.',
);

const NGINX_REASONS: Record<number, string> = {
  404: 'Not Found',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
};

/** nginx's built-in error page (CRLF line ends, `server_tokens off` footer). */
export function nginxErrorPage(status: number): string {
  const title = `${status} ${NGINX_REASONS[status] ?? 'Error'}`;
  return [
    '<html>',
    `<head><title>${title}</title></head>`,
    '<body>',
    `<center><h1>${title}</h1></center>`,
    '<hr><center>nginx</center>',
    '</body>',
    '</html>',
    '',
  ].join('\r\n');
}
