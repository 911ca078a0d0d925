/**
 * What a hook process and its run agent say over the socket: one JSON line each way to start
 * (the call), then JSON lines back (output as it comes, then the exit status).
 */
import type { AgentCall } from './address.js';

export type AgentRequest = AgentCall;

export type AgentReply =
  | { readonly stdout: string }
  | { readonly stderr: string }
  | { readonly exit: number }
  /** The agent cannot take this call: the hook process does its own work. */
  | { readonly declined: string };

export function encode(message: AgentRequest | AgentReply): string {
  return `${JSON.stringify(message)}\n`;
}

/** Feeds socket data in, calls `onLine` with every complete line. */
export function lineReader(onLine: (line: string) => void): (chunk: Buffer | string) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString();
    let end = pending.indexOf('\n');
    while (end >= 0) {
      onLine(pending.slice(0, end));
      pending = pending.slice(end + 1);
      end = pending.indexOf('\n');
    }
  };
}
