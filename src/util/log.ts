/**
 * Everything we say goes to stderr (stdout is reserved for command results, which certbot
 * captures as CERTBOT_AUTH_OUTPUT), and passes through `redact` first.
 */
import { redact } from '../secrets.js';

export interface Logger {
  /** Progress and notes a person running the command should see. */
  info(message: string): void;
  warn(message: string): void;
  /** Wire-level detail, shown only with MIAB_DEBUG=1 or --debug. */
  debug(message: string): void;
}

export interface StderrLoggerOptions {
  readonly debug?: boolean;
  /** @default 'miab-dns01' */
  readonly prefix?: string;
  readonly write?: (text: string) => void;
}

export function stderrLogger(options: StderrLoggerOptions = {}): Logger {
  const write = options.write ?? ((text: string) => void process.stderr.write(text));
  const prefix = options.prefix ?? 'miab-dns01';
  const emit = (level: string, message: string): void => write(`${prefix}: ${level}${redact(message)}\n`);
  return {
    info: (message) => emit('', message),
    warn: (message) => emit('warning: ', message),
    debug: options.debug ? (message) => emit('debug: ', message) : () => undefined,
  };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };
