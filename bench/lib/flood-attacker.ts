/**
 * The attacker of bench/serve-flood.ts in a process of its own (a real attacker is another
 * machine: its load must not slow the box emulator, which runs in the bench's process).
 * argv[2]: JSON { url, count, parallel, from: "one" | "many", base, seconds? }; prints one JSON line
 * { statuses: { "<status>|reset": n }, seconds, cpuSeconds }.
 */
import { performance } from 'node:perf_hooks';
import { basic, newValue, send } from '../../test/serve/helpers.js';

interface Plan {
  readonly url: string;
  readonly count: number;
  readonly parallel: number;
  /** "one": every request from `base`; "many": 127.<base>.y.z, one address per request. */
  readonly from: 'one' | 'many';
  readonly base: string;
  /** Keep going (addresses cycle) until this many seconds passed, even past `count`. */
  readonly seconds?: number;
  /** "health": GET /health instead (a control: the same load with no password at all). */
  readonly kind?: 'wrong-password' | 'health';
}

const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;
const address = (index: number): string => (plan.from === 'one' ? plan.base : `127.${plan.base}.${((index % 1000) >> 8) & 255}.${((index % 1000) & 255) + 1}`);
const statuses: Record<string, number> = {};
let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: plan.parallel }, async () => {
    while (next < plan.count || (plan.seconds !== undefined && performance.now() - started < plan.seconds * 1000)) {
      const index = next++;
      const status = await send(plan.url, plan.kind === 'health' ? { method: 'GET', path: '/health', from: address(index), timeoutMs: 60_000 } : {
        path: '/present',
        headers: basic('00000000-0000-4000-8000-000000000000', `wrong-guess-${index}-${Math.random()}`),
        body: JSON.stringify({ fqdn: '_acme-challenge.a.example.test.', value: newValue() }),
        from: address(index),
        timeoutMs: 60_000,
      }).then(
        (answer) => String(answer.status),
        () => 'reset',
      );
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  }),
);
const cpu = process.cpuUsage();
console.log(JSON.stringify({ statuses, seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
