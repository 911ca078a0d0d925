/**
 * The hook process's side of the run agent: hand the call to the agent of this run (starting
 * it on the run's first call) and relay its output and exit status. A hook process then costs
 * little more than Node's own start-up, and the agent keeps the box session, its connection
 * and the zone snapshot warm for the run's next calls. Built-ins only, so that this path loads
 * nothing else.
 *
 * Whenever the agent cannot be used (disabled, no private socket directory, it did not start),
 * `callRunAgent` returns undefined and the hook does its own work, as without an agent.
 */
import { unlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { certbotRunOwner } from '../adapters/certbot/policy.js';
import { findOwnerPid, processIdentity, type ProcessIdentity } from '../state/processes.js';
import { agentAddress, agentDisabled, PER_CALL_VARIABLES, type AgentCall } from './address.js';
import { encode, lineReader, type AgentReply } from './protocol.js';

const AGENT_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
/** How long a starting agent may take to listen before the hook does its own work. */
const START_TIMEOUT_MS = 10_000;

type Connection = Socket | 'absent' | 'refused' | 'failed';

function tryConnect(address: string): Promise<Connection> {
  return new Promise((resolve) => {
    const socket = connect(address);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'ENOENT' ? 'absent' : error.code === 'ECONNREFUSED' ? 'refused' : 'failed');
    });
  });
}

async function startAgent(address: string, owner: ProcessIdentity, call: AgentCall): Promise<Connection> {
  // Loaded here: only a run's first call starts a process (the module costs every call ~7 ms).
  const { spawn } = await import('node:child_process');
  const env = Object.fromEntries(Object.entries(call.env).filter(([name]) => !PER_CALL_VARIABLES.has(name)));
  const child = spawn(process.execPath, [AGENT_MAIN, address, String(owner.pid), String(owner.startTime ?? '')], { detached: true, stdio: 'ignore', cwd: call.cwd, env });
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  child.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const connection = await tryConnect(address);
    // 'refused' while starting: the file exists but listen() has not finished.
    if (typeof connection !== 'string' || connection === 'failed' || exited || Date.now() > deadline) return connection;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function exchange(socket: Socket, call: AgentCall, label: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    let answered = false;
    const finish = (status: number | undefined): void => {
      if (answered) return;
      answered = true;
      socket.destroy();
      resolve(status);
    };
    socket.on(
      'data',
      lineReader((line) => {
        const reply = JSON.parse(line) as AgentReply;
        if ('stdout' in reply) process.stdout.write(reply.stdout);
        else if ('stderr' in reply) process.stderr.write(reply.stderr);
        else if ('exit' in reply) finish(reply.exit);
        else finish(undefined);
      }),
    );
    const lost = (): void => {
      if (answered) return;
      process.stderr.write(`${label}: error [agent-lost]: this run's agent process stopped before it answered; run the ACME client again (MIAB_DNS01_AGENT=0 makes every hook call do its own work)\n`);
      finish(1);
    };
    socket.on('error', lost);
    socket.on('close', lost);
    socket.write(encode(call));
  });
}

/** The call's exit status as the run's agent ran it, or undefined: do the work in this process. */
export async function callRunAgent(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number | undefined> {
  if (agentDisabled(env)) return undefined;
  const call: AgentCall = { argv, env, cwd: process.cwd() };
  // The run is certbot's, even when a wrapper script of the user's runs this hook.
  const owner = processIdentity(certbotRunOwner() ?? findOwnerPid() ?? process.ppid);
  const address = agentAddress(call, owner, AGENT_MAIN);
  if (address === undefined) return undefined;
  const label = `miab-dns01 ${argv[1] ?? ''}`;
  let connection = await tryConnect(address);
  if (connection === 'refused') {
    // The run had an agent and it died: what it had taken but not yet written is lost.
    try {
      unlinkSync(address);
    } catch {
      // Another call of the run removed it first.
    }
    process.stderr.write(`${label}: warning: this run's agent process had stopped; a challenge it had not written yet is missing (if validation fails, run the ACME client again)\n`);
    connection = 'absent';
  }
  if (connection === 'absent') connection = await startAgent(address, owner, call);
  if (typeof connection === 'string') return undefined;
  return exchange(connection, call, label);
}
