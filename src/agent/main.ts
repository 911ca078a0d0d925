/**
 * The run agent's process: `node agent/main.js <socket> <owner pid> <owner start time>`,
 * started detached by the run's first hook call (client.ts). It prints nothing: every call's
 * output goes back over the socket to the hook process that made it.
 */
import { RunAgent } from './server.js';

const [address, pid, startTime] = process.argv.slice(2);
const owner = { pid: Number(pid), ...(startTime ? { startTime: Number(startTime) } : {}) };
if (address === undefined || !Number.isInteger(owner.pid) || owner.pid <= 0) {
  process.exitCode = 2;
} else {
  const agent = new RunAgent({ address, owner });
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(name, () => agent.interrupt());
  if (await agent.listen()) await agent.serve();
  // Libraries' keep-alive timers must not keep a finished agent alive.
  process.exit(0);
}
