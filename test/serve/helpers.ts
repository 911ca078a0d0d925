/**
 * Shared by the serve suites: the CLI `serve` as a child process on the loopback topology,
 * `clients add` through the CLI, and raw HTTP requests from a chosen loopback source address
 * (127.0.0.2 vs 127.0.0.3 stand for an allowed and a foreign machine).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import type { AcmeDnsAccount } from '../../src/serve/registry.js';
import { runCommand, type CommandRun } from '../fixtures/acme-clients.js';
import { CLI, runCli } from '../fixtures/cli.js';
import { freePort } from '../fixtures/net.js';
import { requireBinary } from '../fixtures/system.js';

export type { AcmeDnsAccount };

export interface AddedClient {
  readonly name: string;
  readonly username: string;
  readonly password: string;
  readonly acme_dns: Readonly<Record<string, AcmeDnsAccount>>;
  readonly ddns_hosts?: readonly string[];
}

export async function addClient(env: Record<string, string>, name: string, domains: readonly string[], extra: readonly string[] = []): Promise<{ client: AddedClient; stdout: string; stderr: string }> {
  const result = await runCli(['clients', 'add', name, ...domains.flatMap((domain) => ['--domain', domain]), ...extra], { env });
  if (result.code !== 0) throw new Error(`clients add failed (${String(result.code)}): ${result.stderr}`);
  return { client: JSON.parse(result.stdout) as AddedClient, stdout: result.stdout, stderr: result.stderr };
}

export interface ServeProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything serve wrote on stdout + stderr so far. */
  output(): string;
  /** Resolves with the exit code / signal once the process ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait for the exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startServe(env: Record<string, string>, args: readonly string[] = [], options: { port?: number; host?: string } = {}): Promise<ServeProcess> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const listen = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const child = spawn(process.execPath, [CLI, 'serve', '--listen', listen, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      const match = /listening on (https?:\/\/\S+)/.exec(text);
      if (match) resolve(match[1] ?? '');
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(({ code }) => reject(new Error(`serve exited (${String(code)}) before listening:\n${text}`)));
    setTimeout(() => reject(new Error(`serve did not listen within 30 s:\n${text}`)), 30_000).unref();
  });
  let url: string;
  try {
    url = await ready;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    port,
    child,
    output: () => text,
    exited,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** One HTTP request from `from` (a loopback address) to serve. */
export function send(url: string, options: { method?: string; path: string; headers?: Record<string, string>; body?: string; from?: string; timeoutMs?: number }): Promise<HttpAnswer> {
  const target = new URL(options.path, url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        // URL keeps the brackets of an IPv6 host; the socket wants the bare address.
        host: target.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: target.port,
        path: target.pathname + target.search,
        method: options.method ?? 'POST',
        headers: { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
        localAddress: options.from ?? '127.0.0.1',
        agent: false,
      },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
        response.on('error', reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 60_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

export function basic(username: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}

/** `/update` exactly as lego's goacmedns sends it: Go field names, X-Api-* headers. */
export function acmeDnsUpdate(url: string, account: { username: string; password: string; subdomain: string }, txt: string, from?: string): Promise<HttpAnswer> {
  return send(url, {
    path: '/update',
    headers: { 'X-Api-User': account.username, 'X-Api-Key': account.password, 'content-type': 'application/json' },
    body: JSON.stringify({ SubDomain: account.subdomain, Txt: txt }),
    from,
  });
}

export function present(url: string, client: { username: string; password: string }, fqdn: string, value: string, from?: string): Promise<HttpAnswer> {
  return send(url, { path: '/present', headers: basic(client.username, client.password), body: JSON.stringify({ fqdn, value }), from });
}

/** A fresh 43-character base64url value. */
export function newValue(): string {
  return Buffer.from(Array.from({ length: 32 }, () => Math.floor(Math.random() * 256))).toString('base64url');
}

export interface LegoHttpreqOptions {
  /** Pebble's directory URL and the CA file lego must trust for it. */
  readonly directoryUrl: string;
  readonly caFile: string;
  /** `host:port` of the resolver lego asks (loopback: the rig may not leave it). */
  readonly resolver: string;
  readonly domains: readonly string[];
  /** The serve instance and the client's httpreq credentials. */
  readonly endpoint: string;
  readonly username: string;
  readonly password: string;
  /** lego's --path (its home goes beneath it). */
  readonly workDir: string;
}

/** The real lego with its httpreq provider against a serve instance: one certificate order. */
export async function runLegoHttpreq(options: LegoHttpreqOptions): Promise<CommandRun> {
  const { workDir } = options;
  await mkdir(join(workDir, 'home'), { recursive: true });
  return runCommand(
    [
      requireBinary('lego'),
      '--server', options.directoryUrl,
      '--email', 'acme@example.test',
      '--accept-tos',
      '--path', workDir,
      '--dns', 'httpreq',
      '--dns.disable-cp',
      '--dns.resolvers', options.resolver,
      ...options.domains.flatMap((domain) => ['--domains', domain]),
      'run',
    ],
    {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: join(workDir, 'home'),
        LANG: 'C.UTF-8',
        LEGO_CA_CERTIFICATES: options.caFile,
        HTTPREQ_ENDPOINT: options.endpoint,
        HTTPREQ_USERNAME: options.username,
        HTTPREQ_PASSWORD: options.password,
        HTTPREQ_PROPAGATION_TIMEOUT: '60',
        HTTPREQ_POLLING_INTERVAL: '1',
        HTTPREQ_HTTP_TIMEOUT: '30',
      },
      cwd: workDir,
      timeoutMs: 100_000,
    },
  );
}
