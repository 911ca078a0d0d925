/**
 * The CNAME check asks the zone's authoritative nameservers (issue 19 item 8): a standalone
 * `present` then reads nothing from the box that grows with its custom-record table. The
 * emulator publishes every change to a scripted nameserver inside the API request, as the box
 * reloads its nsd; the requests the box gets are counted from its log.
 */
import { createSocket, type Socket } from 'node:dgram';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { ChallengeEngine } from '../../challenge/engine.js';
import { loadConfig } from '../../config/config.js';
import { parsePropagationSettings } from '../../propagation/settings.js';
import { Journal } from '../../records/journal.js';
import { silentLogger } from '../../util/log.js';
import { openProvider, type DnsProvider } from '../index.js';
import { startEmulator, type MiabEmulator } from '../../../test/emulator/index.js';
import type { ZoneData } from '../../../test/fixtures/zones.js';
import { scratchDir } from '../../../test/fixtures/scratch.js';

const EMAIL = 'admin@example.test';
const PASSWORD = 'Pw-nameservers-answer-4711';

interface FakeNameserver {
  readonly server: string;
  /** CNAME questions received, with their RD flag. */
  readonly questions: { readonly name: string; readonly type: string; readonly rd: boolean }[];
  /** What the box last published. */
  served: readonly ZoneData[];
  close(): Promise<void>;
}

/** An authoritative server for the published zones over UDP; `silent` drops every query. */
async function startNameserver(silent: boolean): Promise<FakeNameserver> {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const state: FakeNameserver = {
    server: `127.0.0.1:${socket.address().port}`,
    questions: [],
    served: [],
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (message, remote) => {
    const query: DecodedPacket = dnsPacket.decode(message);
    const question = query.questions?.[0];
    if (question === undefined) return;
    const name = question.name.toLowerCase();
    state.questions.push({ name, type: question.type, rd: query.flag_rd });
    if (silent) return;
    const zone = state.served.find((candidate) => name === candidate.name || name.endsWith(`.${candidate.name}`));
    let rcode = 0;
    let flags = dnsPacket.AUTHORITATIVE_ANSWER;
    const answers: Answer[] = [];
    if (zone === undefined) {
      rcode = 5; // REFUSED
      flags = 0;
    } else {
      const atName = zone.records.filter((record) => record.name === name);
      const cname = atName.find((record) => record.type === 'CNAME');
      if (cname !== undefined) answers.push({ type: 'CNAME', name, ttl: 300, data: cname.value });
      else if (atName.length === 0 && name !== zone.name) rcode = 3; // NXDOMAIN
    }
    const reply = dnsPacket.encode({ type: 'response', id: query.id, flags, questions: query.questions, answers });
    reply.writeUInt16BE((reply.readUInt16BE(2) & ~0xf) | rcode, 2);
    socket.send(new Uint8Array(reply), remote.port, remote.address);
  });
  return state;
}

interface Setup {
  readonly emulator: MiabEmulator;
  readonly nameserver: FakeNameserver;
  /** Wired as src/runtime.ts wires them (this file may not import the composition root). */
  readonly runtime: { readonly provider: DnsProvider; readonly engine: ChallengeEngine };
  /** Whole-table reads (`GET /dns/custom`) and writes the box got since the log was cleared. */
  tableReads(): number;
  writes(): number;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(options: { readonly silent?: boolean } = {}): Promise<Setup> {
  const nameserver = await startNameserver(options.silent === true);
  cleanups.push(() => nameserver.close());
  const emulator = await startEmulator({
    zones: ['example.test', 'acme.test'],
    users: [{ email: EMAIL, password: PASSWORD }],
    records: Array.from({ length: 50 }, (_, i) => ({ qname: `host${i}.example.test`, rtype: 'A', value: `192.0.2.${i + 1}` })),
    dns: {
      primary: {
        publish: async (zones) => {
          nameserver.served = zones;
        },
      },
    },
  });
  cleanups.push(() => emulator.stop());
  const dir = await scratchDir('box-store-nameservers');
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const { config, provider: providerConfig } = await loadConfig({
    env: { MIAB_URL: emulator.url, MIAB_EMAIL: EMAIL, MIAB_PASSWORD: PASSWORD, MIAB_STATE_DIR: join(dir, 'state'), MIAB_NAMESERVERS: nameserver.server },
  });
  const provider = await openProvider(providerConfig, {
    stateDir: config.stateDir,
    log: silentLogger,
    ownerPid: process.pid,
    propagation: parsePropagationSettings(config.settings),
  });
  const engine = new ChallengeEngine({
    store: provider.store,
    journal: new Journal(config.stateDir),
    apiUrl: provider.identity,
    host: provider.hostLabel,
    waitForRecords: async () => undefined,
    log: silentLogger,
    ownerPid: process.pid,
  });
  const runtime = { provider, engine, close: () => provider.close() };
  cleanups.push(() => runtime.close());
  // The login and the zone list are not what is counted.
  await runtime.provider.store.zones();
  emulator.clearLog();
  const path = (request: { readonly path: string }): string => request.path.replace(/^\/admin/, '').replace(/\?.*$/, '');
  return {
    emulator,
    nameserver,
    runtime,
    tableReads: () => emulator.requests.filter((request) => request.method === 'GET' && path(request) === '/dns/custom').length,
    writes: () => emulator.requests.filter((request) => request.method === 'POST' && path(request).startsWith('/dns/custom/')).length,
  };
}

const VALUE = 'n4mes3rvers-answer-the-cname-check-xxxxxxxxxx'.slice(0, 43);

describe('BoxRecordStore: the CNAME check asks the authoritative nameservers', () => {
  it('a standalone present reads no table when the nameservers answer: one RD=0 CNAME question instead', async () => {
    const { runtime, nameserver, tableReads, writes } = await setUp();
    await runtime.engine.present([{ name: 'a.example.test', value: VALUE }], { wait: false });
    expect(tableReads()).toBe(0);
    expect(writes()).toBe(1);
    expect(nameserver.questions).toEqual([{ name: '_acme-challenge.a.example.test', type: 'CNAME', rd: false }]);
  });

  it('a CNAME published at the name is still refused, and nothing is written', async () => {
    const { runtime, emulator, writes } = await setUp();
    await emulator.addRecord({ qname: '_acme-challenge.b.example.test', rtype: 'CNAME', value: 'elsewhere.invalid' });
    await expect(runtime.engine.present([{ name: 'b.example.test', value: VALUE }], { wait: false })).rejects.toMatchObject({ code: 'cname-conflict' });
    expect(writes()).toBe(0);
  });

  it('the fresh check asks the nameservers afresh, and a CNAME they report is confirmed by the table', async () => {
    const { runtime, emulator, tableReads } = await setUp();
    await emulator.addRecord({ qname: '_acme-challenge.c.example.test', rtype: 'CNAME', value: 'target.example.test' });
    expect(await runtime.provider.store.cnameTarget('_acme-challenge.c.example.test')).toBe('target.example.test');
    expect(tableReads()).toBe(1);
  });

  it('a CNAME into another zone of the box is followed as a delegation without reading the table', async () => {
    const { runtime, emulator, tableReads, writes } = await setUp();
    await emulator.addRecord({ qname: '_acme-challenge.d.example.test', rtype: 'CNAME', value: 'd.acme.test' });
    emulator.clearLog();
    const [record] = await runtime.engine.present([{ name: 'd.example.test', value: VALUE }], { wait: false });
    expect(record?.fqdn).toBe('d.acme.test');
    expect(tableReads()).toBe(0);
    expect(writes()).toBe(1);
  });

  it('a nameserver that does not answer: the check falls back to the table read', async () => {
    const { runtime, nameserver, tableReads, writes } = await setUp({ silent: true });
    await runtime.engine.present([{ name: 'e.example.test', value: VALUE }], { wait: false });
    expect(nameserver.questions.length).toBeGreaterThan(0);
    expect(tableReads()).toBe(1);
    expect(writes()).toBe(1);
  });

  it('a nameserver that does not answer, and a CNAME at the name: the table read refuses it', async () => {
    const { runtime, emulator, tableReads, writes } = await setUp({ silent: true });
    await emulator.addRecord({ qname: '_acme-challenge.f.example.test', rtype: 'CNAME', value: 'elsewhere.invalid' });
    await expect(runtime.engine.present([{ name: 'f.example.test', value: VALUE }], { wait: false })).rejects.toMatchObject({ code: 'cname-conflict' });
    expect(tableReads()).toBeGreaterThan(0);
    expect(writes()).toBe(0);
  });
});
