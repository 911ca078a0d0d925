/**
 * Issue 20 point 7: `clients add --domain` of a domain that is in none of the box's zones,
 * without --delegation-zone, is refused at add (exit 2, zone-not-found, nothing added), since
 * such a client could only fail later at its first write. Against the box emulator.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../fixtures/cli.js';
import { startTopology, type Topology } from '../fixtures/topology.js';

let topology: Topology;
let env: Record<string, string>;

beforeAll(async () => {
  topology = await startTopology();
  env = await topology.env();
});

afterAll(async () => topology?.stop());

it('refuses a domain off the box without --delegation-zone, and adds nothing', async () => {
  const refused = await runCli(['clients', 'add', 'lost', '--domain', 'a.example.test', '--domain', 'not-on-the-box.invalid'], { env });
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('zone-not-found');
  expect(refused.stderr).toContain('not-on-the-box.invalid');
  expect(refused.stderr).toContain('--delegation-zone');
  expect(refused.stdout).toBe('');
  expect((await runCli(['clients', 'list'], { env })).stdout).not.toContain('lost');
});

it('accepts the same domain with --delegation-zone, and a domain of the box without it', async () => {
  expect((await runCli(['clients', 'add', 'delegated', '--domain', 'not-on-the-box.invalid', '--delegation-zone', 'example.test'], { env })).code).toBe(0);
  expect((await runCli(['clients', 'add', 'onbox', '--domain', 'a.example.test'], { env })).code).toBe(0);
});
