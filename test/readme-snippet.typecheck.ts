// Compiled by `npm run typecheck` only: the README's acme-client example must stay valid.
import acme from 'acme-client';
import { createDns01Challenge, openRuntime, stderrLogger } from '../src/index.js';

export async function readmeExample(client: acme.Client, csr: Buffer): Promise<string> {
  const runtime = await openRuntime({ env: process.env, log: stderrLogger() });
  const dns01 = createDns01Challenge({ engine: runtime.engine });
  try {
    return await client.auto({ csr, termsOfServiceAgreed: true, ...dns01 });
  } finally {
    await dns01.removeAll();
    await runtime.close();
  }
}
