/**
 * Standalone cPanel emulator for demos and end-to-end runs with the real ACME clients:
 *
 *   CPANEL_EMU_ZONES=example.test CPANEL_EMU_USER=alice CPANEL_EMU_PASSWORD=secret \
 *     node --import tsx test/cpanel-emulator/main.ts
 *
 * Prints the base URL as the first line on stdout, then serves until SIGTERM or SIGINT.
 * Variables: CPANEL_EMU_HOST, CPANEL_EMU_PORT, CPANEL_EMU_ZONES (comma separated; the first is
 * the main domain), CPANEL_EMU_USER, CPANEL_EMU_PASSWORD, CPANEL_EMU_TOTP_SECRET,
 * CPANEL_EMU_TOKENS (comma separated API tokens with the Zone Editor feature),
 * CPANEL_EMU_API_2FA=1 (the WHM policy "API requests" needs 2FA),
 * CPANEL_EMU_TLS_KEY_FILE + CPANEL_EMU_TLS_CERT_FILE (PEM files: HTTPS).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { startCpanelEmulator } from './server.js';

async function main(): Promise<void> {
  const env = process.env;
  const list = (text: string | undefined): string[] => (text ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
  const zones = list(env.CPANEL_EMU_ZONES);
  if (zones.length === 0) throw new Error('set CPANEL_EMU_ZONES');
  const emulator = await startCpanelEmulator({
    ...(env.CPANEL_EMU_HOST ? { host: env.CPANEL_EMU_HOST } : {}),
    ...(env.CPANEL_EMU_PORT ? { port: Number(env.CPANEL_EMU_PORT) } : {}),
    zones,
    user: env.CPANEL_EMU_USER ?? 'cpuser',
    password: env.CPANEL_EMU_PASSWORD ?? 'cppassword',
    ...(env.CPANEL_EMU_TOTP_SECRET ? { totpSecret: env.CPANEL_EMU_TOTP_SECRET } : {}),
    tokens: list(env.CPANEL_EMU_TOKENS).map((token) => ({ token })),
    apiRequires2fa: env.CPANEL_EMU_API_2FA === '1',
    ...(env.CPANEL_EMU_TLS_KEY_FILE && env.CPANEL_EMU_TLS_CERT_FILE
      ? { tls: { key: readFileSync(env.CPANEL_EMU_TLS_KEY_FILE, 'utf8'), cert: readFileSync(env.CPANEL_EMU_TLS_CERT_FILE, 'utf8') } }
      : {}),
  });
  process.stdout.write(`${emulator.url}\n`);
  const stop = (): void => void emulator.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
