/**
 * One "hook process" for the cross-process tests: opens the cPanel provider from the
 * environment (CPANEL_*, plus TEST_STATE_DIR, TEST_NAME, TEST_VALUE) and appends one value.
 */
import { openCpanelProvider, parseCpanelConfig } from '../../src/providers/cpanel/index.js';
import { silentLogger } from '../../src/util/log.js';

const env = process.env;
const provider = await openCpanelProvider(parseCpanelConfig(env), { stateDir: env.TEST_STATE_DIR ?? '', log: silentLogger });
try {
  await provider.store.appendTxt(env.TEST_NAME ?? '', env.TEST_VALUE ?? '');
  process.stdout.write(`${JSON.stringify(await provider.store.txtValues(env.TEST_NAME ?? ''))}\n`);
} finally {
  await provider.close();
}
