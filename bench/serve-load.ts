/**
 * Load on `miab-dns01 serve`: 50 concurrent acme-dns `/update`s from 10 clients (5 each, so
 * the two-slot rule evicts 3 values per domain), in several rounds, on the loopback topology
 * (emulator with TOTP, nsd primary, nsd secondary lagging BENCH_LAG_MS).
 *
 * Checks and prints: every request answered 200; the box's writes serialized (each POST and
 * DELETE is held BENCH_WRITE_MS by the emulator, as the real box's single worker takes ~0.2 s
 * per write, so serialized writes arrive at least that far apart, and any overlap shows as a
 * shorter gap); the round's total time (first request sent to last answer) against its
 * physical limit (the round's writes one after another + the secondary's lag), with the
 * verdict against 1.10x; p50/p95/max latency per round; serve's RSS after each round (flat
 * memory: later rounds do not grow it).
 *
 * Run (build first; only loopback):
 *   npm run build && unshare -n bash -c 'ip link set lo up && node --import tsx bench/serve-load.ts'
 * Knobs: BENCH_ROUNDS (3), BENCH_LAG_MS (1000), BENCH_WRITE_MS (30).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startTopology } from '../test/fixtures/topology.js';
import { acmeDnsUpdate, addClient, newValue, startServe, type AddedClient } from '../test/serve/helpers.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LAG_MS = Number(process.env.BENCH_LAG_MS ?? 1000);
const WRITE_MS = Number(process.env.BENCH_WRITE_MS ?? 30);
const GOAL_RATIO = 1.1;
const CLIENTS = 10;
const PER_CLIENT = 5;

function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

async function main(): Promise<void> {
  const topology = await startTopology({ lagMs: LAG_MS });
  let failed = false;
  try {
    const env = await topology.env();
    const clients: { client: AddedClient; domain: string }[] = [];
    for (let index = 1; index <= CLIENTS; index++) {
      const domain = `load${index}.example.test`;
      clients.push({ client: (await addClient(env, `load${index}`, [domain])).client, domain });
    }
    // Every client sends from 127.0.0.1 here, where on a network each machine has its own
    // address: the per-address connection cap (32) would refuse what this bench measures.
    const serve = await startServe(env, ['--expire-after', '1h', '--max-connections-per-address', String(CLIENTS * PER_CLIENT + 10)]);
    const pid = serve.child.pid ?? 0;
    console.log(`serve ${serve.url} pid ${pid}; RSS at start ${rssMiB(pid).toFixed(1)} MiB; lag ${LAG_MS} ms, each box write held ${WRITE_MS} ms`);
    console.log('round | requests | ok  | box writes | min gap between writes (ms) | total (s) | limit (s) | vs limit | p50 (ms) | p95 (ms) | max (ms) | RSS after (MiB)');
    const ratios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      topology.emulator.clearLog();
      // The box's write time on its writes only: reads (the fresh CNAME check) are quick on a real box.
      topology.emulator.injectFaults(
        (['POST', 'DELETE'] as const).flatMap((method) => Array.from({ length: CLIENTS * PER_CLIENT }, () => ({ delayMs: WRITE_MS, match: { method, pathPrefix: '/dns/custom/' } }))),
      );
      const roundStarted = performance.now();
      const jobs = clients.flatMap(({ client, domain }) =>
        Array.from({ length: PER_CLIENT }, async () => {
          const account = client.acme_dns[domain];
          if (!account) throw new Error(`no account for ${domain}`);
          const started = performance.now();
          const answer = await acmeDnsUpdate(serve.url, account, newValue());
          return { status: answer.status, ms: performance.now() - started };
        }),
      );
      const results = await Promise.all(jobs);
      const totalMs = performance.now() - roundStarted;
      const ok = results.filter((result) => result.status === 200).length;
      const writes = topology.emulator.requests.filter((request) => (request.method === 'POST' || request.method === 'DELETE') && request.path.includes('/dns/custom/'));
      const times = writes.map((request) => request.time).sort((a, b) => a - b);
      const gaps = times.slice(1).map((time, index) => time - (times[index] ?? time));
      const minGap = gaps.length > 0 ? Math.min(...gaps) : 0;
      const latencies = results.map((result) => result.ms).sort((a, b) => a - b);
      // No server can answer the last update sooner than every write one after another, then the lag.
      const limitMs = writes.length * WRITE_MS + LAG_MS;
      ratios.push(totalMs / limitMs);
      // Let timers and sockets settle before reading memory.
      await new Promise((resolve) => setTimeout(resolve, 500));
      console.log(
        `${String(round).padStart(5)} | ${String(results.length).padStart(8)} | ${String(ok).padStart(3)} | ${String(writes.length).padStart(10)} | ${minGap.toFixed(0).padStart(27)} | ${(totalMs / 1000).toFixed(2).padStart(9)} | ${(limitMs / 1000).toFixed(2).padStart(9)} | ${`${(totalMs / limitMs).toFixed(2)}x`.padStart(8)} | ${percentile(latencies, 50).toFixed(0).padStart(8)} | ${percentile(latencies, 95).toFixed(0).padStart(8)} | ${(latencies.at(-1) ?? 0).toFixed(0).padStart(8)} | ${rssMiB(pid).toFixed(1).padStart(15)}`,
      );
      if (ok !== results.length) failed = true;
      if (minGap < WRITE_MS) {
        failed = true;
        console.log(`  box writes overlapped: two arrived ${minGap} ms apart, less than the ${WRITE_MS} ms each one takes`);
      }
      // Two slots per domain: exactly two values per domain remain.
      for (const { domain } of clients) {
        const values = topology.emulator.records().filter((record) => record.qname === `_acme-challenge.${domain}` && record.rtype === 'TXT');
        if (values.length !== 2) {
          failed = true;
          console.log(`  ${domain}: ${values.length} values on the box, expected 2`);
        }
      }
    }
    const worst = Math.max(...ratios);
    console.log(
      `Goal (50 concurrent updates from 10 clients: total <= ${GOAL_RATIO.toFixed(2)}x the serialized box writes + the lag): worst round ${worst.toFixed(2)}x (rounds: ${ratios.map((ratio) => `${ratio.toFixed(2)}x`).join(', ')}): ${worst <= GOAL_RATIO ? 'MET' : 'MISSED'}. Limit = writes x ${WRITE_MS} ms + ${LAG_MS} ms lag (the round trip, ~0.2 ms, left out).`,
    );
    const exit = await serve.stop();
    console.log(`serve stopped: ${JSON.stringify(exit)}`);
  } finally {
    await topology.stop();
  }
  if (failed) {
    console.log('FAILED');
    process.exitCode = 1;
  } else {
    console.log('OK: all requests succeeded, box writes serialized');
  }
}

await main();
