/**
 * The run agent: a process started by the first certbot hook call of an ACME run, that runs
 * the run's hook calls in one warm process (one box session, one kept-alive connection).
 *
 * Calls run one at a time, in the order they came. An auth call that is not the run's last
 * (CERTBOT_REMAINING_CHALLENGES > 0) is answered as soon as it is queued: its write goes on
 * while certbot starts the next hook, so the box's writes run back to back instead of
 * alternating with hook start-ups. That is safe because certbot answers no challenge before
 * its last auth call returns, and that call waits for every queued write, then for every
 * record of the run on every authoritative nameserver. What a queued call printed (its error
 * too) is printed by the next auth call that waits (or by a clean-up call, if one failed); if
 * one failed, the last auth call fails with it and writes nothing more.
 *
 * Clean-up calls are queued the same way, all but the last: the last waits for every queued
 * removal, so when certbot's clean-up phase ends nothing of the run is left on the box.
 *
 * The agent ends when its run's owner (certbot) is gone, taking back what the run left on the
 * box (queued calls run first), on SIGTERM/SIGINT (the same), or after a while without calls
 * (leaving the records to the run, whose next call starts a new agent; queued calls run first).
 */
import { rmdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { runCertbotCall } from '../adapters/certbot/index.js';
import { certbotHook, isDeferred, type CertbotHook } from '../adapters/certbot/policy.js';
import { isDebug } from '../adapters/context.js';
import { isProcessAlive, type ProcessIdentity } from '../state/processes.js';
import { silentLogger } from '../util/log.js';
import type { AgentRequest, AgentReply } from './protocol.js';
import { encode, lineReader } from './protocol.js';
import { WarmRuntimes } from './runtimes.js';

export interface RunAgentOptions {
  /** The Unix socket to listen on (see address.ts). */
  readonly address: string;
  /** The ACME client process whose run this agent serves. */
  readonly owner: ProcessIdentity;
  /** How long the agent waits for a call before it ends. @default 120_000 */
  readonly idleMs?: number;
  /** How often the owner is checked. @default 250 */
  readonly ownerPollMs?: number;
}

interface HeldOutput {
  readonly replies: readonly AgentReply[];
  readonly status: number;
}

function parseRequest(line: string): AgentRequest | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null) return undefined;
    const { argv, env, cwd } = value as Record<string, unknown>;
    if (!Array.isArray(argv) || !argv.every((item) => typeof item === 'string')) return undefined;
    if (typeof env !== 'object' || env === null || typeof cwd !== 'string') return undefined;
    return { argv: argv as string[], env: env as Record<string, string>, cwd };
  } catch {
    return undefined;
  }
}

export class RunAgent {
  readonly #options: RunAgentOptions;
  readonly #stop = new AbortController();
  readonly #runtimes: WarmRuntimes;
  #queue: Promise<void> = Promise.resolve();
  #held: HeldOutput[] = [];
  #server: Server | undefined;
  #lastCall = Date.now();
  #active = 0;
  #ended: Promise<void> | undefined;

  constructor(options: RunAgentOptions) {
    this.#options = options;
    this.#runtimes = new WarmRuntimes(options.owner.pid, this.#stop.signal);
  }

  /** Listens; resolves false when another agent already serves this address. */
  async listen(): Promise<boolean> {
    const server = createServer((socket) => this.#accept(socket));
    const listenOnce = (): Promise<NodeJS.ErrnoException | undefined> =>
      new Promise((resolve) => {
        server.once('error', resolve);
        server.listen(this.#options.address, () => {
          server.removeListener('error', resolve);
          resolve(undefined);
        });
      });
    let failure = await listenOnce();
    if (failure?.code === 'EADDRINUSE') {
      if (await answers(this.#options.address)) return false;
      // A dead agent's socket: this run's clients have been told (client.ts); take its place.
      unlinkSync(this.#options.address);
      failure = await listenOnce();
    }
    if (failure !== undefined) throw failure;
    this.#server = server;
    return true;
  }

  /** Serves until the owner is gone, a stop signal, or the idle time; then cleans up. */
  async serve(): Promise<void> {
    const idleMs = this.#options.idleMs ?? 120_000;
    const { owner } = this.#options;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (!isProcessAlive(owner.pid, owner.startTime)) void this.end('owner-gone').then(resolve);
        else if (this.#active === 0 && Date.now() - this.#lastCall > idleMs) void this.end('idle').then(resolve);
      }, this.#options.ownerPollMs ?? 250);
      this.#stop.signal.addEventListener('abort', () => {
        clearInterval(timer);
        void this.end('signal').then(resolve);
      });
    });
  }

  /**
   * Stops taking calls and ends. When the run is over or interrupted ('owner-gone',
   * 'signal'), what it still has on the box is taken back: the calls running are aborted
   * (their writes undone) and every journaled record of the run is removed.
   */
  end(reason: 'owner-gone' | 'signal' | 'idle'): Promise<void> {
    // Set before any of the ending runs: aborting the stop signal below calls end('signal')
    // at once, which must find this ending rather than start a second one (that removed
    // every record of the run a second time: two DELETEs each after certbot was killed).
    this.#ended ??= Promise.resolve().then(() => this.#finish(reason));
    return this.#ended;
  }

  async #finish(reason: 'owner-gone' | 'signal' | 'idle'): Promise<void> {
    this.#server?.close();
    removeSocket(this.#options.address);
    if (reason !== 'idle' && !this.#stop.signal.aborted) this.#stop.abort();
    await this.#queue;
    if (reason !== 'idle') {
      const runtime = await this.#runtimes.current(silentLogger);
      const records = (await runtime?.engine.recordsOfThisRun().catch(() => [])) ?? [];
      // What cannot be removed now stays in the journal for "cleanup --stale".
      for (const record of records) await runtime?.engine.remove(record).catch(() => undefined);
    }
    await this.#runtimes.close();
  }

  /** Aborts what runs, takes back the run's records and ends (SIGTERM, SIGINT). */
  interrupt(): void {
    this.#stop.abort();
  }

  #accept(socket: Socket): void {
    socket.on('error', () => undefined);
    let taken = false;
    const onData = lineReader((line) => {
      if (taken) return;
      taken = true;
      socket.pause();
      this.#take(socket, line);
    });
    socket.on('data', onData);
  }

  #take(socket: Socket, line: string): void {
    this.#lastCall = Date.now();
    const send = (reply: AgentReply): void => {
      if (!socket.destroyed) socket.write(encode(reply));
    };
    const request = parseRequest(line);
    const hook = request === undefined ? undefined : certbotHook(request.argv);
    if (request === undefined || hook === undefined || request.cwd !== process.cwd() || this.#ended !== undefined) {
      send({ declined: request === undefined ? 'malformed call' : hook === undefined ? 'not a certbot call' : 'not this agent' });
      socket.end();
      return;
    }
    if (isDeferred(hook, request.env, { failureHeld: this.#held.some((output) => output.status !== 0), debug: isDebug({ env: request.env }) })) {
      const replies: AgentReply[] = [];
      this.#enqueue(async () => {
        const status = await this.#run(hook, request, (reply) => replies.push(reply), this.#stop.signal);
        this.#held.push({ replies, status });
      });
      send({ exit: 0 });
      socket.end();
      return;
    }
    // A call that waits is aborted when its hook process goes away (killed with certbot).
    const gone = new AbortController();
    const onStop = (): void => gone.abort(this.#stop.signal.reason);
    this.#stop.signal.addEventListener('abort', onStop, { once: true });
    socket.on('close', () => gone.abort());
    socket.resume();
    this.#enqueue(async () => {
      const failed = this.#held.find((output) => output.status !== 0);
      // The queued calls' lines come out with the run's last auth call; a clean-up call prints
      // them only when one failed (certbot was stopped before its last auth call, say, or a
      // queued clean-up call failed).
      if (hook === 'certbot-auth' || failed !== undefined) {
        for (const output of this.#held) for (const reply of output.replies) send(reply);
        this.#held = [];
      } else if (hook === 'certbot-cleanup') {
        // The queued clean-up calls went well: their lines ("removed TXT ...") say nothing new.
        this.#held = [];
      }
      let status: number;
      if (failed !== undefined && hook === 'certbot-auth') {
        send({ stderr: 'miab-dns01 certbot-auth: an earlier challenge of this certbot run failed (above): nothing more was written or waited for; certbot runs the clean-up hook for the records that were written\n' });
        status = failed.status;
      } else {
        status = await this.#run(hook, request, send, gone.signal);
        // A queued clean-up call was answered 0 when it was queued: its failure is this call's.
        if (status === 0 && failed !== undefined && hook === 'certbot-cleanup') status = failed.status;
      }
      this.#stop.signal.removeEventListener('abort', onStop);
      send({ exit: status });
      socket.end();
    });
  }

  #run(hook: CertbotHook, request: AgentRequest, send: (reply: AgentReply) => void, signal: AbortSignal): Promise<number> {
    return runCertbotCall(hook, {
      env: request.env,
      signal,
      stdout: (text) => send({ stdout: text }),
      stderr: (text) => send({ stderr: text }),
      runtimes: this.#runtimes,
    });
  }

  #enqueue(work: () => Promise<void>): void {
    this.#active++;
    this.#queue = this.#queue
      .then(work)
      .catch(() => undefined)
      .finally(() => {
        this.#active--;
        this.#lastCall = Date.now();
      });
  }
}

/** Whether an agent answers at this address. */
function answers(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(address);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function removeSocket(address: string): void {
  try {
    unlinkSync(address);
  } catch {
    // Already gone.
  }
  try {
    // The per-user directory goes too once no agent uses it.
    rmdirSync(dirname(address));
  } catch {
    // Another agent's socket is in it.
  }
}
