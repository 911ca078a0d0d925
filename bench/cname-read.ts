/**
 * 3d. The fresh CNAME check before each challenge write: the whole custom-record table
 * (`GET /dns/custom`, what the tool reads now) against one name's CNAMEs
 * (`GET /dns/custom/<qname>/CNAME`, which a session key may read too), with N challenge TXT
 * records on the box as in an N-name run. Times are the emulator's, over loopback: they show
 * the difference in size and work, not what the real box's Python takes.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { Runtime } from '../src/runtime.js';
import { median, millis, percentile } from './lib/stats.js';
import type { Table } from './lib/table.js';
import type { BenchTopology } from './lib/topology.js';

export async function runCnameRead(options: { bench: BenchTopology; runtime: Runtime; records: number; repeats: number; log: (line: string) => void }): Promise<Table> {
  const { bench, runtime } = options;
  const dir = join(bench.sharedStateDir, 'sessions');
  // The sessions dir also holds the TOTP spent-code records: take the file with a key.
  let session: { apiKey: string; email: string } | undefined;
  for (const name of (await readdir(dir)).filter((entry) => entry.endsWith('.json'))) {
    const parsed = JSON.parse(await readFile(join(dir, name), 'utf8')) as { apiKey?: unknown; email?: unknown };
    if (typeof parsed.apiKey === 'string' && typeof parsed.email === 'string') session = { apiKey: parsed.apiKey, email: parsed.email };
  }
  if (session === undefined) throw new Error(`no cached session in ${dir}`);
  const authorization = `Basic ${Buffer.from(`${session.email}:${session.apiKey}`).toString('base64')}`;
  const url = bench.topology.emulator.url;
  const tag = randomBytes(3).toString('hex');
  const challenges = Array.from({ length: options.records }, (_, i) => ({ name: `cr${i}-${tag}.example.test`, value: randomBytes(32).toString('base64url') }));
  const previousWrite = bench.writeMs;
  bench.writeMs = 0; // setting up the records is not what is measured
  const records = await runtime.engine.present(challenges, { wait: false });
  bench.writeMs = previousWrite;
  const kinds = [
    { label: 'GET /dns/custom (every custom record)', path: '/dns/custom' },
    { label: 'GET /dns/custom/<qname>/CNAME (one name)', path: `/dns/custom/_acme-challenge.cr0-${tag}.example.test/CNAME` },
  ];
  const times = kinds.map(() => [] as number[]);
  const sizes = kinds.map(() => 0);
  try {
    for (let repeat = -1; repeat < options.repeats; repeat++) {
      for (const [i, kind] of kinds.entries()) {
        const started = performance.now();
        const response = await fetch(url + kind.path, { headers: { authorization, accept: 'application/json' } });
        const body = await response.text();
        const ms = performance.now() - started;
        if (response.status !== 200) throw new Error(`${kind.path}: HTTP ${response.status}`);
        sizes[i] = body.length;
        if (repeat >= 0) times[i]?.push(ms);
      }
    }
  } finally {
    bench.writeMs = 0;
    for (const record of records) await runtime.engine.remove(record);
    bench.writeMs = previousWrite;
  }
  options.log('  cname read: done');
  return {
    title: `Goal 1b. The fresh CNAME check before each write: whole table vs one name (${options.records} challenge TXT records on the box)`,
    header: ['request', 'median', 'p95', 'response size', 'vs the 0.2 s write'],
    rows: kinds.map((kind, i) => [kind.label, millis(median(times[i] ?? [])), millis(percentile(times[i] ?? [], 95)), `${sizes[i] ?? 0} B`, `${((median(times[i] ?? []) / 200) * 100).toFixed(1)} %`]),
    notes: [
      `${options.repeats} requests of each, alternating, with the cached session key, from the bench process (kept-alive connection), against the emulator: its Python-free handling makes both fast; on a real box the whole table is parsed and serialized by the daemon, so its cost grows with the number of custom records while the per-name read does not.`,
    ],
  };
}
