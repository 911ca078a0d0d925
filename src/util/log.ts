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
  /** Errors only: info and warnings are dropped (debug output still shows with `debug`). */
  readonly quiet?: boolean;
  /** @default 'miab-dns01' */
  readonly prefix?: string;
  readonly write?: (text: string) => void;
}

export function stderrLogger(options: StderrLoggerOptions = {}): Logger {
  const write = options.write ?? ((text: string) => void process.stderr.write(text));
  const prefix = options.prefix ?? 'miab-dns01';
  const emit = (level: string, message: string): void => write(`${prefix}: ${level}${redact(message)}\n`);
  const quiet = options.quiet === true && options.debug !== true;
  return {
    info: quiet ? () => undefined : (message) => emit('', message),
    warn: quiet ? () => undefined : (message) => emit('warning: ', message),
    debug: options.debug ? (message) => emit('debug: ', message) : () => undefined,
  };
}

/** A logger that holds back progress and prints one line at the end. */
export interface SummaryLogger extends Logger {
  /** Prints the last progress line (the outcome), once. */
  summarize(): void;
}

/**
 * For hosts that show everything a hook prints as an alarm (interactive certbot lists a
 * hook's stderr under "ran with error output"): progress is kept back and only the last line
 * is printed by `summarize()`; warnings still show at once. With `debug`, every line shows
 * as it happens, as with `stderrLogger`.
 */
export function summaryLogger(options: StderrLoggerOptions = {}): SummaryLogger {
  const inner = stderrLogger(options);
  if (options.debug === true) return { ...inner, summarize: () => undefined };
  let last: string | undefined;
  let held = 0;
  return {
    info: (message) => {
      last = message;
      held++;
    },
    warn: inner.warn,
    debug: inner.debug,
    summarize: () => {
      if (last === undefined) return;
      inner.info(held > 1 ? `${last} (MIAB_DEBUG=1 shows every step)` : last);
      last = undefined;
    },
  };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };
