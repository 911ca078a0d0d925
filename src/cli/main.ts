#!/usr/bin/env node
/**
 * The CLI entry: the only place that maps errors to exit codes and calls process.exit.
 * Command modules are imported lazily so `--version` and hook start-up stay fast.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { MiabDns01Error } from '../errors.js';
import { redact } from '../secrets.js';

const HELP = `miab-dns01: ACME DNS-01 challenges on a Mail-in-a-Box box (TOTP supported)

Usage:
  miab-dns01 present [--no-wait] <name> <value>     add one TXT value, wait until every
                                                    authoritative nameserver serves it
  miab-dns01 cleanup <name> <value>                 remove exactly that value
  miab-dns01 cleanup --stale [--older-than <dur>] [--dry-run]
                                                    remove records left by crashed runs
  miab-dns01 wait <name> <value> [<name> <value>...] wait for records written earlier
  miab-dns01 zones                                  list the box's zones
  miab-dns01 check                                  verify configuration and credentials
  miab-dns01 logout                                 end the cached session
  miab-dns01 issue -d <name> [-d <name>...] --out <dir> [options]
                                                    get a certificate (see issue --help)
  miab-dns01 serve --listen <host:port> [options]   scoped credentials for remote machines
                                                    (acme-dns + httpreq; see serve --help)
  miab-dns01 clients add|list|remove                manage serve's clients (clients --help)
  miab-dns01 --help | --version

<name> is example.com, *.example.com or _acme-challenge.example.com (trailing dot allowed).
<value> is taken verbatim even when it starts with "-"; "--" ends options.

Options for every command (flag > environment > credentials file):
  --url <url>               MIAB_URL             admin API, e.g. https://box.example.com/admin
  --email <address>         MIAB_EMAIL           admin account
                            MIAB_PASSWORD[_FILE] password (never as a flag)
                            MIAB_TOTP_SECRET[_FILE] base32 TOTP secret, when 2FA is on
  --config <file>           MIAB_CONFIG          credentials file (key = value, chmod 600)
  --state-dir <dir>         MIAB_STATE_DIR       session cache, journal, locks
  --ca-file <pem>           MIAB_CA_FILE         extra CA to trust for the box
  --tls-fingerprint <sha256> MIAB_TLS_FINGERPRINT pin the box's certificate
  --system-key-file <file>  MIAB_SYSTEM_KEY_FILE on the box: /var/lib/mailinabox/api.key
  --debug                   MIAB_DEBUG=1         show HTTP requests (credentials redacted)
Propagation: MIAB_NAMESERVERS, MIAB_DNS_RESOLVERS, MIAB_DNS_PORT,
             MIAB_PROPAGATION_TIMEOUT (s, default 300), MIAB_PROPAGATION_WAIT (s: sleep instead)

Exit codes: 0 success, 1 operation failed, 2 usage or configuration error (nothing written),
            128+N stopped by signal N (after removing what was written).
`;

function version(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
}

/** Runs one command line and returns the exit status. Exported for tests. */
export async function run(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, signal: AbortSignal): Promise<number> {
  const [command, ...rest] = argv;
  const stdout = (text: string): void => void process.stdout.write(text);
  const stderr = (text: string): void => void process.stderr.write(redact(text));
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? stderr : stdout)(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-V') {
    stdout(`${version()}\n`);
    return 0;
  }
  const context = { env, signal, stdout, stderr };
  try {
    if (command === 'issue') {
      await (await import('./issue.js')).issue(rest, context);
    } else if (command === 'serve' || command === 'clients') {
      await (command === 'serve' ? (await import('./serve.js')).default : (await import('./clients.js')).default)(rest, context);
    } else if (command === 'hook') {
      await (await import('../adapters/dispatch.js')).runHook(rest, context);
    } else {
      const commands = await import('./commands.js');
      const table: Record<string, (tokens: readonly string[], ctx: typeof context) => Promise<void>> = {
        present: commands.present,
        cleanup: commands.cleanup,
        wait: commands.wait,
        zones: commands.zones,
        check: commands.check,
        logout: commands.logout,
      };
      const handler = table[command];
      if (handler === undefined) {
        stderr(`miab-dns01: unknown command "${command}"; see "miab-dns01 --help"\n`);
        return 2;
      }
      if (rest.includes('--help') && !rest.includes('--')) {
        stdout(HELP);
        return 0;
      }
      await handler(rest, context);
    }
    return 0;
  } catch (error) {
    return report(error, signal, stderr);
  }
}

function report(error: unknown, signal: AbortSignal, stderr: (text: string) => void): number {
  const interrupted = signal.aborted && signal.reason instanceof MiabDns01Error ? signal.reason : undefined;
  const failure = error instanceof MiabDns01Error ? error : interrupted;
  if (failure !== undefined) {
    stderr(`miab-dns01: error [${failure.code}]: ${failure.message}\n`);
    return interrupted?.exitCode ?? failure.exitCode;
  }
  // Not one of ours: a bug. Say so plainly, without a stack trace unless debugging.
  const message = error instanceof Error ? error.message : String(error);
  stderr(`miab-dns01: unexpected error: ${message}\n${process.env.MIAB_DEBUG === '1' && error instanceof Error ? `${error.stack ?? ''}\n` : ''}`);
  return 1;
}

function main(): void {
  const controller = new AbortController();
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(name, () => {
      const status = 128 + constants.signals[name];
      // A second signal means "now": exit without further clean-up.
      if (controller.signal.aborted) process.exit(status);
      controller.abort(new MiabDns01Error('interrupted', `stopped by ${name}; removed the records this run had written`, { exitCode: status }));
    });
  }
  run(process.argv.slice(2), process.env, controller.signal).then(
    (status) => {
      // After a signal, clean-up is done: do not wait for libraries' pending timers.
      if (controller.signal.aborted) process.exit(status);
      process.exitCode = status;
    },
    (error: unknown) => {
      process.stderr.write(`miab-dns01: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

main();
