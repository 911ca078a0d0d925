/**
 * 4. Box calls of one 3-name certbot run (auth x3, then cleanup x3, through the real hooks,
 * starting with no cached session, by a certbot stand-in: one run, one run agent), counted
 * from the emulator's request log.
 */
import { randomBytes } from 'node:crypto';
import type { RequestLogEntry } from '../test/emulator/types.js';
import { CertbotStandIn, HOOKS, agentEnded, expectSuccess } from './lib/process.js';
import type { Table } from './lib/table.js';
import type { BenchTopology } from './lib/topology.js';

export interface BoxCallsOptions {
  readonly bench: BenchTopology;
  /** Must hold no session yet: the run's login is part of what is counted. */
  readonly stateDir: string;
  readonly log: (line: string) => void;
}

type Kind = 'login' | 'zone list' | 'custom table' | 'read CNAME' | 'read TXT' | 'other read' | 'add TXT' | 'remove TXT' | 'other';

function classify(entry: RequestLogEntry): Kind {
  const path = entry.path.replace(/^\/admin/, '').replace(/\?.*$/, '');
  if (path === '/login') return 'login';
  if (entry.method === 'GET' && path === '/dns/zones') return 'zone list';
  if (entry.method === 'GET' && path === '/dns/custom') return 'custom table';
  if (entry.method === 'GET' && path.startsWith('/dns/custom/')) return path.endsWith('/CNAME') ? 'read CNAME' : path.endsWith('/TXT') ? 'read TXT' : 'other read';
  if (entry.method === 'GET') return 'other read';
  if (entry.method === 'POST' && path.startsWith('/dns/custom/')) return 'add TXT';
  if (entry.method === 'DELETE' && path.startsWith('/dns/custom/')) return 'remove TXT';
  return 'other';
}

export async function runBoxCalls(options: BoxCallsOptions): Promise<Table> {
  const { bench } = options;
  const { emulator } = bench.topology;
  const env = await bench.env(options.stateDir);
  const tag = randomBytes(3).toString('hex');
  const list = [1, 2, 3].map((i) => ({ domain: `calls${i}-${tag}.example.test`, value: randomBytes(32).toString('base64url') }));
  emulator.setSecondaryLag(500);
  emulator.clearLog();
  const phases: { label: string; from: number; to: number }[] = [];
  const certbot = new CertbotStandIn();
  for (const [i, challenge] of list.entries()) {
    const from = emulator.requests.length;
    const hookEnv = { ...env, CERTBOT_DOMAIN: challenge.domain, CERTBOT_VALIDATION: challenge.value, CERTBOT_REMAINING_CHALLENGES: String(list.length - 1 - i) };
    expectSuccess(await certbot.run(`${HOOKS}/certbot-auth`, hookEnv), `certbot-auth ${challenge.domain}`);
    phases.push({ label: `certbot-auth #${i + 1}${i === list.length - 1 ? ' (waits)' : ''}`, from, to: emulator.requests.length });
  }
  for (const [i, challenge] of list.entries()) {
    const from = emulator.requests.length;
    const hookEnv = { ...env, CERTBOT_DOMAIN: challenge.domain, CERTBOT_VALIDATION: challenge.value };
    expectSuccess(await certbot.run(`${HOOKS}/certbot-cleanup`, hookEnv), `certbot-cleanup ${challenge.domain}`);
    phases.push({ label: `certbot-cleanup #${i + 1}`, from, to: emulator.requests.length });
  }
  await certbot.stop();
  await agentEnded(certbot.pid);
  await emulator.secondaryIdle();
  const log = [...emulator.requests];
  const kinds: Kind[] = ['login', 'zone list', 'custom table', 'read CNAME', 'read TXT', 'other read', 'add TXT', 'remove TXT', 'other'];
  const count = (entries: readonly RequestLogEntry[], kind: Kind): number => entries.filter((entry) => classify(entry) === kind).length;
  const used = kinds.filter((kind) => count(log, kind) > 0);
  const rows = phases.map((phase) => {
    const entries = log.slice(phase.from, phase.to);
    return [phase.label, ...used.map((kind) => String(count(entries, kind))), String(entries.length)];
  });
  rows.push(['total', ...used.map((kind) => String(count(log, kind))), String(log.length)]);
  const logins = count(log, 'login');
  const adds = count(log, 'add TXT');
  const removes = count(log, 'remove TXT');
  const reads = log.filter((entry) => entry.method === 'GET').length;
  const zoneLists = count(log, 'zone list');
  const failed = log.filter((entry) => entry.status >= 400 || entry.status === 0);
  const sessionAuth = log.filter((entry) => classify(entry) !== 'login' && entry.authKind !== 'session');
  options.log(`  box calls: ${log.length} requests`);
  return {
    title: 'A. Box API calls of a 3-name certbot run (auth x3 + cleanup x3 through the hooks, no cached session at start)',
    header: ['hook call', ...used, 'requests'],
    rows,
    notes: [
      `Calls (the earlier goal, kept as a check): ${logins} login (1 wanted), ${adds} adds + ${removes} removes (3 + 3 wanted): ${logins === 1 && adds === 3 && removes === 3 ? 'as wanted' : 'NOT as wanted'}; ${reads} reads: ${zoneLists} zone list(s), ${count(log, 'custom table')} whole custom-record table(s) (GET /dns/custom) and ${count(log, 'read CNAME')} per-name CNAME read(s): the run's snapshot (zone list + table) plus one fresh CNAME check per write (the safety rule), so ${adds + 2} reads are expected.`,
      `Every call after the login authenticated with the cached session: ${sessionAuth.length === 0 ? 'yes' : `NO (${sessionAuth.length} did not)`}. Failed requests: ${failed.length}.`,
      `A row counts the requests the box received while that hook call ran. The auth calls hand their challenges to the run's agent: #1 and #2 return once their challenge is queued, so the agent's login, snapshot (zone list + table), CNAME checks and writes for them arrive while later calls run (here: during #3, which waits for them). Before each write the agent reads the CNAME at _acme-challenge.<name> afresh (a TXT beside a CNAME makes the box's nsd drop the whole zone); clean-up finds the record in the journal and only deletes.`,
    ],
  };
}
