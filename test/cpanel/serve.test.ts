/**
 * `miab-dns01 serve` on the cPanel provider, in each auth mode (API token; Basic +
 * X-CPANEL-OTP with the WHM policy "API requests" on; session login with the code): serve is
 * configured by the same environment as the hooks (MIAB_DNS01_PROVIDER=cpanel + CPANEL_*), a
 * client is added with `clients add`, and the real Debian lego (`--dns httpreq`) obtains apex +
 * wildcard from Pebble through serve, Pebble validating through the nameserver that lags 1 s
 * behind the account's writes (serve answers a write only once every nameserver serves it).
 *
 * Every run: the certificate covers both names, both values were added and removed (lego calls
 * /cleanup), the partner value at the same name survives, the journal is empty, the configured
 * auth mode was the one serve used (session: one login for the whole serve lifetime), and no
 * secret of the account or of the serve client shows in lego's output or argv, serve's output
 * or any file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateNames, type CommandRun } from '../fixtures/acme-clients.js';
import { expectNoSecretLeak } from '../clients/harness.js';
import { addClient, runLegoHttpreq, startServe, type ServeProcess } from '../serve/helpers.js';
import { AUTH_MODES, challengeTxt, expectAccountClean, PARTNER_NAME, PARTNER_VALUE, startCpanelTopology, writes, type CpanelTopology } from './topology.js';

const DOMAINS = ['a.example.test', '*.a.example.test'];

let topology: CpanelTopology;

beforeAll(async () => {
  topology = await startCpanelTopology('serve');
});

afterAll(async () => {
  await topology?.stop();
});

for (const mode of AUTH_MODES) {
  describe(`serve on cPanel, ${mode}`, () => {
    it('lego --dns httpreq obtains apex + wildcard through serve; the partner survives, nothing of ours is left', async () => {
      const run = await topology.newRun(`serve-${mode}`, mode);
      const web = (await addClient(run.env, 'web', ['a.example.test'])).client;
      let serve: ServeProcess | undefined;
      let lego: CommandRun | undefined;
      let partnerSeenMeanwhile = true;
      try {
        serve = await startServe(run.env);
        const current = serve;
        // While lego runs, the partner value must never disappear (not even for one write).
        let stop = false;
        const watcher = (async () => {
          while (!stop) {
            if (!challengeTxt(run.emulator).includes(`${PARTNER_NAME} ${PARTNER_VALUE}`)) partnerSeenMeanwhile = false;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })();
        const workDir = join(run.workDir, 'lego');
        try {
          lego = await runLegoHttpreq({
            directoryUrl: topology.pebble.directoryUrl,
            caFile: topology.pebble.caFile,
            resolver: `${topology.primaryAddress}:${topology.dnsPort}`,
            domains: DOMAINS,
            endpoint: current.url,
            username: web.username,
            password: web.password,
            workDir,
          });
        } finally {
          stop = true;
          await watcher;
        }
        expect(lego.exitCode, `${lego.stdout}\n${lego.stderr}\n--- serve\n${current.output()}`).toBe(0);
        const crt = join(workDir, 'certificates', 'a.example.test.crt');
        expect((await certificateNames(crt)).sort()).toEqual([...DOMAINS].sort());
        await topology.pebble.verifyIssued(await readFile(crt, 'utf8'));
      } finally {
        const exit = await serve?.stop();
        if (serve) expect(exit?.code, serve.output()).toBe(0);
      }
      expect(partnerSeenMeanwhile).toBe(true);
      expect(writes(run.emulator)).toEqual({ adds: 2, removes: 2 });
      await expectAccountClean(run);
      await expectNoSecretLeak(run, [lego], [{ label: 'serve output', text: serve?.output() ?? '' }], [...run.secrets, web.password]);
    });
  });
}
