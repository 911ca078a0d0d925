/**
 * The propagation check against real nsd processes on loopback. Every resolver and
 * nameserver is passed explicitly: the machine's own resolver is never asked (the last test
 * checks the log of every server queried).
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PropagationError } from '../src/errors.js';
import {
  discoverNameservers,
  parsePropagationSettings,
  queryTxt,
  waitForPropagation,
  type PropagationRecord,
  type PropagationSettings,
  type QueryEvent,
} from '../src/propagation/index.js';
import { runCli } from './fixtures/cli.js';
import { loopbackAddress } from './fixtures/net.js';
import { startTopology, type Topology } from './fixtures/topology.js';
import { assertUnreachable, NsdServer, sharedFreePort, unreachableIpv6 } from './fixtures/nsd.js';
import type { ZoneData, ZoneRecord } from './fixtures/zones.js';

const primaryAddress = loopbackAddress();
const secondaryAddress = loopbackAddress();
/** Nothing ever listens here: a nameserver that is down. */
const downAddress = loopbackAddress();

/** NS names of each zone (the zone content both servers publish). */
const NAMESERVERS: Readonly<Record<string, readonly string[]>> = {
  'box.test': ['ns1.box.test', 'ns2.box.test'],
  'example.test': ['ns1.box.test', 'ns2.box.test'],
  // Served (for real) by the secondary only: a CNAME-delegated challenge's target zone.
  'other.test': ['ns2.box.test'],
  'six.test': ['ns6.box.test'],
  'lame.test': ['ghost.box.test'],
  'half.test': ['ns1.box.test', 'ghost.box.test'],
  // A box with IPv6: each nameserver has a loopback A and an AAAA this machine cannot reach.
  'dual.test': ['dual1.box.test', 'dual2.box.test'],
  // One nameserver with a reachable address, one with only unreachable ones.
  'dead.test': ['dual1.box.test', 'dead.box.test'],
};

let port: number;
let primary: NsdServer;
let secondary: NsdServer;
let six: NsdServer;
let broken: NsdServer;
/** Every server any query in this file went to. */
const queried = new Set<string>();
const onQuery = (event: QueryEvent): void => void queried.add(event.server);

/** Zone contents: records per zone; every publish takes a snapshot with a fresh serial. */
const content = new Map<string, ZoneRecord[]>();
let serial = 1000;
function snapshot(zones: readonly string[]): ZoneData[] {
  serial++;
  return zones.map((name) => ({ name, serial, nameservers: NAMESERVERS[name] ?? [], records: [...(content.get(name) ?? [])] }));
}
function addTxt(name: string, zone: string, ...values: string[]): void {
  content.set(zone, [...(content.get(zone) ?? []), ...values.map((value) => ({ name, type: 'TXT', value }))]);
}

function acmeValue(): string {
  return randomBytes(32).toString('base64url');
}

/** Discovery through the primary as bootstrap resolver; authoritative queries on the shared port. */
function discoverySettings(overrides: Partial<PropagationSettings> = {}, env: Record<string, string> = {}): PropagationSettings {
  return parsePropagationSettings(
    { MIAB_DNS_RESOLVERS: `${primaryAddress}:${port}`, MIAB_DNS_PORT: String(port), MIAB_PROPAGATION_TIMEOUT: '10', ...env },
    { initialIntervalMs: 200, intervalFactor: 1.5, maxIntervalMs: 1000, queryTimeoutMs: 500, ...overrides },
  );
}

beforeAll(async () => {
  port = await sharedFreePort([primaryAddress, secondaryAddress, downAddress, '::1']);
  content.set('box.test', [
    { name: 'ns1.box.test', type: 'A', value: primaryAddress },
    { name: 'ns2.box.test', type: 'A', value: secondaryAddress },
    { name: 'ns6.box.test', type: 'AAAA', value: '::1' },
    { name: 'dual1.box.test', type: 'A', value: primaryAddress },
    { name: 'dual1.box.test', type: 'AAAA', value: unreachableIpv6(1) },
    { name: 'dual2.box.test', type: 'A', value: secondaryAddress },
    { name: 'dual2.box.test', type: 'AAAA', value: unreachableIpv6(2) },
    { name: 'dead.box.test', type: 'AAAA', value: unreachableIpv6(3) },
    { name: 'dead.box.test', type: 'AAAA', value: unreachableIpv6(4) },
  ]);
  content.set('example.test', [{ name: 'deleg.example.test', type: 'CNAME', value: 'x.acme.other.test' }]);
  for (const n of [1, 2, 3, 4]) await assertUnreachable(unreachableIpv6(n));
  const primaryZones = ['box.test', 'example.test', 'other.test', 'six.test', 'lame.test', 'half.test', 'dual.test', 'dead.test'];
  const secondaryZones = ['box.test', 'example.test', 'other.test', 'dual.test'];
  primary = await NsdServer.start({ address: primaryAddress, port, zones: primaryZones });
  secondary = await NsdServer.start({ address: secondaryAddress, port, zones: secondaryZones });
  six = await NsdServer.start({ address: '::1', port, zones: ['six.test'] });
  broken = await NsdServer.start({ address: loopbackAddress(), port, zones: ['example.test'] });
  const initial = snapshot(primaryZones);
  await primary.publish(initial);
  await secondary.publish(initial.filter((zone) => secondaryZones.includes(zone.name)));
  await six.publish(initial.filter((zone) => zone.name === 'six.test'));
  await broken.breakZone('example.test');
});

afterAll(async () => {
  await Promise.all([primary, secondary, six, broken].map((server) => server?.stop()));
});

describe('discoverNameservers (bootstrap resolver = the primary nsd)', () => {
  it('finds the NS set and each nameserver address, on MIAB_DNS_PORT', async () => {
    const found = await discoverNameservers('example.test', discoverySettings(), { onQuery });
    expect(found).toEqual([
      { names: ['ns1.box.test'], address: { host: primaryAddress, port } },
      { names: ['ns2.box.test'], address: { host: secondaryAddress, port } },
    ]);
  });

  it('asks only the zone apex and the NS names, recursively (RD=1)', async () => {
    const events: QueryEvent[] = [];
    await discoverNameservers('example.test', discoverySettings(), { onQuery: (event) => events.push(event) });
    expect(events.every((event) => event.recursionDesired && event.server === `${primaryAddress}:${port}`)).toBe(true);
    expect(events.map((event) => `${event.type} ${event.name}`).sort()).toEqual(['A ns1.box.test', 'A ns2.box.test', 'AAAA ns1.box.test', 'AAAA ns2.box.test', 'NS example.test']);
  });

  it('finds IPv6-only nameservers through AAAA', async () => {
    expect(await discoverNameservers('six.test', discoverySettings(), { onQuery })).toEqual([{ names: ['ns6.box.test'], address: { host: '::1', port } }]);
  });

  it('moves on to the next resolver when one does not answer', async () => {
    const settings = discoverySettings({}, { MIAB_DNS_RESOLVERS: `${downAddress}:${port},${primaryAddress}:${port}` });
    expect(await discoverNameservers('example.test', settings, { onQuery })).toHaveLength(2);
  });

  it('uses MIAB_NAMESERVERS instead, resolving host names among them', async () => {
    const settings = discoverySettings({}, { MIAB_NAMESERVERS: `ns2.box.test,${downAddress}` });
    expect(await discoverNameservers('example.test', settings, { onQuery })).toEqual([
      { names: ['ns2.box.test'], address: { host: secondaryAddress, port } },
      { names: [], address: { host: downAddress, port } },
    ]);
  });

  it('sends nothing at all for MIAB_NAMESERVERS given as addresses', async () => {
    const events: QueryEvent[] = [];
    const settings = parsePropagationSettings({ MIAB_NAMESERVERS: `${primaryAddress}:${port}` });
    expect(await discoverNameservers('example.test', settings, { onQuery: (event) => events.push(event) })).toHaveLength(1);
    expect(events).toEqual([]);
  });

  it('leaves out a nameserver without an address, with a warning', async () => {
    const warnings: string[] = [];
    const found = await discoverNameservers('half.test', discoverySettings(), { onQuery, warn: (line) => warnings.push(line) });
    expect(found).toEqual([{ names: ['ns1.box.test'], address: { host: primaryAddress, port } }]);
    expect(warnings).toEqual(['nameserver ghost.box.test of half.test has no A or AAAA record: not checking it']);
  });

  it.each([
    ['lame.test', /none of the nameservers of lame.test \(ghost.box.test\) has an address/],
    ['missing.box.test', /missing.box.test does not exist in DNS \(NXDOMAIN from .*\): is the domain registered/],
    ['ns1.box.test', /ns1.box.test has no NS records/],
    ['unserved.test', /no bootstrap resolver answered \(.*answered REFUSED\).*MIAB_DNS_RESOLVERS/],
  ])('explains why %s has no nameservers to check', async (zone, message) => {
    const promise = discoverNameservers(zone, discoverySettings(), { onQuery });
    await expect(promise).rejects.toBeInstanceOf(PropagationError);
    await expect(promise).rejects.toMatchObject({ code: 'nameserver-discovery-failed', message: expect.stringMatching(message) });
  });
});

describe('waitForPropagation against real nsd', () => {
  it('waits for a secondary lagging 3 s, and ends within one polling interval of it serving the records', async () => {
    const fqdn = '_acme-challenge.lag.example.test';
    const values = [acmeValue(), acmeValue()]; // apex + wildcard: two values at one name
    addTxt(fqdn, 'example.test', ...values);
    const zones = snapshot(['example.test']);
    await primary.publish(zones);

    let secondaryPublishStarted = Infinity;
    let secondaryServing = Infinity;
    const lag = new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        secondaryPublishStarted = performance.now();
        secondary.publish(zones).then(() => {
          secondaryServing = performance.now();
          resolve();
        }, reject);
      }, 3000);
    });

    const settings = discoverySettings();
    const lines: string[] = [];
    const events: QueryEvent[] = [];
    const records: PropagationRecord[] = values.map((value) => ({ fqdn, zone: 'example.test', value }));
    const result = await waitForPropagation(records, settings, {
      progress: (line) => lines.push(line),
      isTTY: false,
      onQuery: (event) => {
        events.push(event);
        onQuery(event);
      },
    });
    const ended = performance.now();
    await lag;

    expect(ended).toBeGreaterThan(secondaryPublishStarted);
    expect(ended - secondaryServing).toBeLessThan(settings.maxIntervalMs + 250);
    expect(result.checked).toBe(true);
    expect([...result.servers].sort()).toEqual([`${primaryAddress}:${port}`, `${secondaryAddress}:${port}`].sort());

    // One TXT query per (server, name) per round: the primary served both values at once and
    // was not asked again; the secondary was asked once per round, over UDP, with RD=0.
    const txt = events.filter((event) => event.type === 'TXT');
    expect(txt.filter((event) => event.server === `${primaryAddress}:${port}`)).toHaveLength(1);
    const secondaryQueries = txt.filter((event) => event.server === `${secondaryAddress}:${port}`);
    expect(secondaryQueries.length).toBeGreaterThanOrEqual(4);
    expect(secondaryQueries.length).toBeLessThanOrEqual(10);
    expect(txt.every((event) => !event.recursionDesired && event.transport === 'udp' && event.name === fqdn)).toBe(true);
    // The challenge name itself never goes to a resolver (RD=1 queries are the NS lookups only).
    expect(events.filter((event) => event.recursionDesired).every((event) => event.type !== 'TXT')).toBe(true);

    // Progress: a start line, a line saying the secondary lacks the name (quiet: not one per check), the end.
    expect(lines[0]).toMatch(/^checking that 2 nameservers serve 2 TXT records: ns1.box.test \(.*\), ns2.box.test \(.*\)$/);
    expect(lines.some((line) => /waiting for 1 of 2 nameservers: ns2.box.test \([\d.:]+\) lacks _acme-challenge.lag.example.test \(NXDOMAIN\)/.test(line))).toBe(true);
    expect(lines.length).toBeLessThan(secondaryQueries.length + 2);
    expect(lines.at(-1)).toMatch(/^all 2 nameservers serve the records \(after [\d.]+ s\)$/);
  });

  it('on a terminal, shows a progress line after every check', async () => {
    const fqdn = '_acme-challenge.tty.example.test';
    const value = acmeValue();
    addTxt(fqdn, 'example.test', value);
    const zones = snapshot(['example.test']);
    await primary.publish(zones);
    const lines: string[] = [];
    const timer = setTimeout(() => void secondary.publish(zones), 800);
    try {
      await waitForPropagation([{ fqdn, zone: 'example.test', value }], discoverySettings(), { progress: (line) => lines.push(line), isTTY: true, onQuery });
    } finally {
      clearTimeout(timer);
      await secondary.publish(zones);
    }
    const waiting = lines.filter((line) => line.includes('waiting for'));
    expect(waiting.length).toBeGreaterThanOrEqual(2);
    expect(waiting[0]).toMatch(/^\[\d+\.\d s\] waiting for 1 of 2/);
  });

  it('falls back to TCP when 40 long values at one name truncate UDP', async () => {
    const fqdn = '_acme-challenge.big.example.test';
    const values = Array.from({ length: 40 }, (_, i) => `${i}-${'x'.repeat(200)}`);
    addTxt(fqdn, 'example.test', ...values);
    const zones = snapshot(['example.test']);
    await Promise.all([primary.publish(zones), secondary.publish(zones)]);
    const events: QueryEvent[] = [];
    const settings = discoverySettings({}, { MIAB_NAMESERVERS: `${primaryAddress},${secondaryAddress}` });
    const records = values.map((value) => ({ fqdn, zone: 'example.test', value }));
    const result = await waitForPropagation(records, settings, {
      onQuery: (event) => {
        events.push(event);
        onQuery(event);
      },
    });
    expect(result.servers).toHaveLength(2);
    expect(events.map((event) => `${event.server} ${event.transport}`).sort()).toEqual(
      [`${primaryAddress}:${port} tcp`, `${primaryAddress}:${port} udp`, `${secondaryAddress}:${port} tcp`, `${secondaryAddress}:${port} udp`].sort(),
    );
  });

  it('checks a CNAME-delegated challenge at its target zone\'s nameservers', async () => {
    // _acme-challenge... CNAME x.acme.other.test; other.test's only NS is ns2 (the secondary).
    const value = acmeValue();
    addTxt('x.acme.other.test', 'other.test', value);
    await secondary.publish(snapshot(['other.test']));
    const events: QueryEvent[] = [];
    const result = await waitForPropagation([{ fqdn: 'x.acme.other.test', zone: 'other.test', value }], discoverySettings(), {
      onQuery: (event) => {
        events.push(event);
        onQuery(event);
      },
    });
    expect(result.servers).toEqual([`${secondaryAddress}:${port}`]);
    const txt = events.filter((event) => event.type === 'TXT');
    expect(txt).toEqual([{ server: `${secondaryAddress}:${port}`, name: 'x.acme.other.test', type: 'TXT', transport: 'udp', recursionDesired: false }]);
    expect(events.some((event) => event.name.includes('deleg'))).toBe(false);
  });

  it('checks an IPv6 (::1) nameserver found through its AAAA record', async () => {
    const value = acmeValue();
    addTxt('_acme-challenge.six.test', 'six.test', value);
    await six.publish(snapshot(['six.test']));
    const result = await waitForPropagation([{ fqdn: '_acme-challenge.six.test', zone: 'six.test', value }], discoverySettings(), { onQuery });
    expect(result.servers).toEqual([`[::1]:${port}`]);
  });

  it('waits for records in several zones at once', async () => {
    const a = acmeValue();
    const b = acmeValue();
    addTxt('_acme-challenge.multi.example.test', 'example.test', a);
    addTxt('_acme-challenge.multi.six.test', 'six.test', b);
    const example = snapshot(['example.test']);
    const sixZone = snapshot(['six.test']);
    await Promise.all([primary.publish(example), secondary.publish(example), six.publish(sixZone)]);
    const result = await waitForPropagation(
      [
        { fqdn: '_acme-challenge.multi.example.test', zone: 'example.test', value: a },
        { fqdn: '_acme-challenge.multi.six.test', zone: 'six.test', value: b },
      ],
      discoverySettings(),
      { onQuery },
    );
    expect(result.servers).toHaveLength(3);
  });

  it('times out naming each server and what it last answered: ok, stale, down, REFUSED, SERVFAIL', async () => {
    const fqdn = '_acme-challenge.fail.example.test';
    const value = acmeValue();
    addTxt(fqdn, 'example.test', 'old-value');
    await secondary.publish(snapshot(['example.test']));
    addTxt(fqdn, 'example.test', value);
    await primary.publish(snapshot(['example.test']));

    const servers = [primary.server, secondary.server, `${downAddress}:${port}`, six.server, broken.server];
    const settings = discoverySettings({ queryTimeoutMs: 300 }, { MIAB_NAMESERVERS: servers.join(','), MIAB_PROPAGATION_TIMEOUT: '1.5' });
    const started = performance.now();
    const error: unknown = await waitForPropagation([{ fqdn, zone: 'example.test', value }], settings, { onQuery }).catch((caught: unknown) => caught);
    const elapsed = performance.now() - started;

    expect(error).toBeInstanceOf(PropagationError);
    if (!(error instanceof PropagationError)) return;
    expect(error.code).toBe('propagation-timeout');
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(3000);
    expect(error.nameservers).toEqual([
      { server: primary.server, ok: true, lastAnswer: 'ok' },
      { server: secondary.server, ok: false, lastAnswer: 'stale (has: "old-value")' },
      { server: `${downAddress}:${port}`, ok: false, lastAnswer: expect.stringMatching(/^no answer \(nothing listens on .* \(connection refused\)\)$/) },
      { server: six.server, ok: false, lastAnswer: 'REFUSED' },
      { server: broken.server, ok: false, lastAnswer: 'SERVFAIL' },
    ]);
    expect(error.message).toContain(`4 of 5 nameservers did not serve the 1 TXT record within`);
    for (const server of servers) expect(error.message).toContain(server);
    expect(error.message).toMatch(/What to check:/);
    expect(error.message).toMatch(/stale: the server has not loaded the new zone yet/);
    expect(error.message).toMatch(/no answer: check that the server is up and that UDP and TCP port \d+ are open/);
    expect(error.message).toMatch(/REFUSED: the server does not serve example.test/);
    expect(error.message).toMatch(/SERVFAIL: the server has example.test but could not load it/);
  });
});

/** A nameserver's address as discovery and the wait print it. */
function v6(n: number): string {
  return `[${unreachableIpv6(n)}]:${port}`;
}

/** Servers the tests below start or try besides the nsd ones: allowed by the isolation check. */
const alsoAllowed = new Set<string>();

function bytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

interface FakeResolver {
  /** `127.x.y.z:port`, for MIAB_DNS_RESOLVERS. */
  readonly server: string;
  stop(): Promise<void>;
}

/**
 * A recursive resolver stand-in on loopback that hands every query to the primary nsd, over
 * UDP and TCP. `dropAaaa`: never answers AAAA queries (either transport), as some resolvers
 * and middleboxes do. `dropUdp`: never answers over UDP (a network that passes only TCP).
 */
async function fakeResolver(options: { readonly dropAaaa?: boolean; readonly dropUdp?: boolean }): Promise<FakeResolver> {
  const address = loopbackAddress();
  const ownPort = await sharedFreePort([address]);
  const upstreams = new Set<Socket>();
  const forward = (query: Buffer): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      const upstream = createSocket('udp4');
      upstreams.add(upstream);
      const done = (reply: Buffer | undefined): void => {
        clearTimeout(timer);
        upstreams.delete(upstream);
        upstream.close();
        resolve(reply);
      };
      const timer = setTimeout(() => done(undefined), 1000);
      upstream.on('message', (reply) => done(reply));
      upstream.on('error', () => done(undefined));
      upstream.send(bytes(query), port, primaryAddress);
    });
  const dropped = (query: Buffer): boolean => {
    if (!options.dropAaaa) return false;
    try {
      return dnsPacket.decode(query).questions?.some((question) => question.type === 'AAAA') ?? false;
    } catch {
      return true;
    }
  };
  const udp = createSocket('udp4');
  udp.on('message', (query, peer) => {
    if (options.dropUdp || dropped(query)) return;
    void forward(query).then((reply) => {
      if (reply) udp.send(bytes(reply), peer.port, peer.address);
    });
  });
  await new Promise<void>((resolve) => udp.bind(ownPort, address, resolve));
  const connections = new Set<import('node:net').Socket>();
  const tcp: Server = createServer((connection) => {
    connections.add(connection);
    connection.on('close', () => connections.delete(connection));
    connection.on('error', () => undefined);
    let received = Buffer.alloc(0);
    connection.on('data', (chunk: Buffer) => {
      received = Buffer.concat([bytes(received), bytes(chunk)]);
      while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        const length = received.readUInt16BE(0);
        const query = received.subarray(2, 2 + length);
        received = received.subarray(2 + length);
        if (dropped(query)) continue;
        void forward(query).then((reply) => {
          if (!reply || connection.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          connection.write(bytes(Buffer.concat([bytes(prefix), bytes(reply)])));
        });
      }
    });
  });
  await new Promise<void>((resolve) => tcp.listen(ownPort, address, resolve));
  const server = `${address}:${ownPort}`;
  alsoAllowed.add(server);
  return {
    server,
    stop: async () => {
      for (const connection of connections) connection.destroy();
      for (const upstream of upstreams) upstream.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };
}

describe('nameservers with addresses this machine cannot reach (a box with IPv6, a host without)', () => {
  beforeAll(() => {
    for (const n of [1, 2, 3, 4]) alsoAllowed.add(v6(n));
  });

  it('discovery finds both addresses; the wait succeeds at the A, reports each unreachable AAAA once and asks it less often', async () => {
    const found = await discoverNameservers('dual.test', discoverySettings(), { onQuery });
    expect(found).toEqual([
      { names: ['dual1.box.test'], address: { host: primaryAddress, port } },
      { names: ['dual1.box.test'], address: { host: unreachableIpv6(1), port } },
      { names: ['dual2.box.test'], address: { host: secondaryAddress, port } },
      { names: ['dual2.box.test'], address: { host: unreachableIpv6(2), port } },
    ]);

    const fqdn = '_acme-challenge.dual.test';
    const value = acmeValue();
    addTxt(fqdn, 'dual.test', value);
    const zones = snapshot(['dual.test']);
    await primary.publish(zones);
    // The secondary serves it 1.5 s later: several rounds, during which dual2's AAAA stays unreachable.
    const timer = setTimeout(() => void secondary.publish(zones), 1500);
    const lines: string[] = [];
    const events: QueryEvent[] = [];
    try {
      const result = await waitForPropagation([{ fqdn, zone: 'dual.test', value }], discoverySettings(), {
        progress: (line) => lines.push(line),
        isTTY: false,
        onQuery: (event) => {
          events.push(event);
          onQuery(event);
        },
      });
      expect([...result.servers].sort()).toEqual([`${primaryAddress}:${port}`, `${secondaryAddress}:${port}`].sort());
    } finally {
      clearTimeout(timer);
      await secondary.publish(zones);
    }
    expect(lines[0]).toBe(
      `checking that 2 nameservers serve 1 TXT record: dual1.box.test (${primaryAddress}:${port}, ${v6(1)}), dual2.box.test (${secondaryAddress}:${port}, ${v6(2)})`,
    );
    for (const n of [1, 2]) {
      const notes = lines.filter((line) => line.includes(`cannot reach ${v6(n)}`));
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatch(/no route .*ENETUNREACH/);
      expect(notes[0]).toContain(`dual${n}.box.test counts as serving when another of its addresses does, and this address is asked again only every 5-30 s`);
      // Paused for 5 s after the first failure: not asked again during the 1.5 s wait.
      expect(events.filter((event) => event.type === 'TXT' && event.server === v6(n))).toHaveLength(1);
    }
    expect(events.filter((event) => event.type === 'TXT' && event.server === `${secondaryAddress}:${port}`).length).toBeGreaterThanOrEqual(3);
    expect(lines.some((line) => /waiting for 1 of 2 nameservers: dual2.box.test \(.*\) lacks _acme-challenge.dual.test \(NXDOMAIN\)/.test(line))).toBe(true);
    expect(lines.at(-1)).toMatch(/^all 2 nameservers serve the record \(after [\d.]+ s\)$/);
  });

  it('fails at the timeout naming a nameserver none of whose addresses can be reached, without crashing', async () => {
    const fqdn = '_acme-challenge.dead.test';
    const value = acmeValue();
    addTxt(fqdn, 'dead.test', value);
    await primary.publish(snapshot(['dead.test']));
    const started = performance.now();
    const error: unknown = await waitForPropagation([{ fqdn, zone: 'dead.test', value }], discoverySettings({}, { MIAB_PROPAGATION_TIMEOUT: '1.5' }), { onQuery }).catch(
      (caught: unknown) => caught,
    );
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(PropagationError);
    if (!(error instanceof PropagationError)) return;
    expect(error.code).toBe('propagation-timeout');
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(3000);
    expect(error.message).toContain('1 of 2 nameservers did not serve the 1 TXT record');
    expect(error.message).toContain(`dead.box.test (${v6(3)}, ${v6(4)}): none of its addresses can be reached from this machine:`);
    expect(error.message).toMatch(new RegExp(`\\[2001:db8::53\\]:${port}: _acme-challenge.dead.test: no answer \\(this machine has no route to .*ENETUNREACH`));
    expect(error.message).toMatch(/no route: this machine cannot send to that address at all/);
    expect(error.nameservers).toEqual([
      { server: `${primaryAddress}:${port}`, ok: true, lastAnswer: 'ok' },
      { server: v6(1), ok: false, lastAnswer: expect.stringMatching(/ENETUNREACH/) },
      { server: v6(3), ok: false, lastAnswer: expect.stringMatching(/ENETUNREACH/) },
      { server: v6(4), ok: false, lastAnswer: expect.stringMatching(/ENETUNREACH/) },
    ]);
  });

  it('MIAB_NAMESERVERS: a name is served at any of its addresses; an unreachable address entry fails at the timeout', async () => {
    const fqdn = '_acme-challenge.given.example.test';
    const value = acmeValue();
    addTxt(fqdn, 'example.test', value);
    const zones = snapshot(['example.test']);
    await Promise.all([primary.publish(zones), secondary.publish(zones)]);
    const records = [{ fqdn, zone: 'example.test', value }];

    const lines: string[] = [];
    const named = discoverySettings({}, { MIAB_NAMESERVERS: `dual1.box.test,${secondary.server}` });
    const result = await waitForPropagation(records, named, { onQuery, progress: (line) => lines.push(line) });
    expect([...result.servers].sort()).toEqual([primary.server, secondary.server].sort());
    expect(lines.filter((line) => line.startsWith(`cannot reach ${v6(1)} (dual1.box.test)`))).toHaveLength(1);

    const byAddress = discoverySettings({}, { MIAB_NAMESERVERS: `${primary.server},${v6(3)}`, MIAB_PROPAGATION_TIMEOUT: '1' });
    const error: unknown = await waitForPropagation(records, byAddress, { onQuery }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PropagationError);
    expect(error).toMatchObject({ code: 'propagation-timeout', message: expect.stringContaining(`1 of 2 nameservers did not serve`) });
    expect((error as PropagationError).message).toMatch(new RegExp(`  \\[2001:db8::53\\]:${port}: ${fqdn.replace(/\./g, '\\.')}: no answer \\(this machine has no route`));
  });

  it('MIAB_DNS_RESOLVERS: skips an unreachable resolver (and tries it last afterwards); fails clearly when none can be reached', async () => {
    const events: QueryEvent[] = [];
    const settings = discoverySettings({}, { MIAB_DNS_RESOLVERS: `${v6(4)},${primaryAddress}:${port}` });
    const found = await discoverNameservers('example.test', settings, { onQuery: (event) => (events.push(event), onQuery(event)) });
    expect(found).toHaveLength(2);
    expect(events.filter((event) => event.server === v6(4))).toHaveLength(1);

    const promise = discoverNameservers('example.test', discoverySettings({}, { MIAB_DNS_RESOLVERS: `${v6(3)},${v6(4)}` }), { onQuery });
    await expect(promise).rejects.toBeInstanceOf(PropagationError);
    await expect(promise).rejects.toMatchObject({
      code: 'nameserver-discovery-failed',
      message: expect.stringMatching(/cannot look up NS example.test: no bootstrap resolver answered \(this machine has no route to .*ENETUNREACH.*MIAB_DNS_RESOLVERS/),
    });
  });

  it('discovery through a resolver that drops AAAA queries uses the A records (A answered), with a warning', async () => {
    const resolver = await fakeResolver({ dropAaaa: true });
    try {
      const warnings: string[] = [];
      const events: QueryEvent[] = [];
      const settings = discoverySettings({}, { MIAB_DNS_RESOLVERS: resolver.server });
      const found = await discoverNameservers('dual.test', settings, { onQuery: (event) => (events.push(event), onQuery(event)), warn: (line) => warnings.push(line) });
      expect(found).toEqual([
        { names: ['dual1.box.test'], address: { host: primaryAddress, port } },
        { names: ['dual2.box.test'], address: { host: secondaryAddress, port } },
      ]);
      expect(warnings.sort()).toEqual([
        'no bootstrap resolver answered the AAAA query for dual1.box.test (A answered): checking it at its IPv4 address only',
        'no bootstrap resolver answered the AAAA query for dual2.box.test (A answered): checking it at its IPv4 address only',
      ]);
      // The AAAA query was asked over UDP, then once more over TCP.
      expect(events.filter((event) => event.type === 'AAAA' && event.name === 'dual1.box.test').map((event) => event.transport)).toEqual(['udp', 'tcp']);
    } finally {
      await resolver.stop();
    }
  });

  it('discovery asks again over TCP when a resolver does not answer over UDP', async () => {
    const resolver = await fakeResolver({ dropUdp: true });
    try {
      const events: QueryEvent[] = [];
      const settings = discoverySettings({}, { MIAB_DNS_RESOLVERS: resolver.server });
      const found = await discoverNameservers('dual.test', settings, { onQuery: (event) => (events.push(event), onQuery(event)) });
      expect(found).toHaveLength(4);
      expect(events.filter((event) => event.type === 'NS').map((event) => event.transport)).toEqual(['udp', 'tcp']);
    } finally {
      await resolver.stop();
    }
  });
});

describe('present on a box whose nameservers have AAAA records this machine cannot reach (emulator + nsd)', () => {
  let topology: Topology;
  beforeAll(async () => {
    topology = await startTopology({
      lagMs: 300,
      records: [
        { qname: 'ns1.box.example.test', rtype: 'AAAA', value: unreachableIpv6(1) },
        { qname: 'ns2.box.example.test', rtype: 'AAAA', value: unreachableIpv6(2) },
      ],
    });
  });
  afterAll(async () => {
    await topology?.stop();
  });

  it('waits at the A addresses, reports each unreachable address once, and cleans up', async () => {
    const env = await topology.env({ MIAB_PROPAGATION_TIMEOUT: '20' });
    const value = acmeValue();
    const present = await runCli(['present', 'v6.example.test', value], { env, timeoutMs: 60_000 });
    expect(present.stderr).not.toMatch(/RangeError|ERR_SOCKET/);
    expect(present).toMatchObject({ code: 0 });
    for (const n of [1, 2]) {
      const address = `[${unreachableIpv6(n)}]:${topology.dnsPort}`;
      expect(present.stderr.split('\n').filter((line) => line.includes(`cannot reach ${address}`))).toHaveLength(1);
    }
    expect(present.stderr).toMatch(/all 2 nameservers serve the record/);
    const served = await queryTxt({ host: topology.secondaryAddress, port: topology.dnsPort }, '_acme-challenge.v6.example.test');
    expect(served).toMatchObject({ status: 'answer', values: [value] });
    expect(await runCli(['cleanup', 'v6.example.test', value], { env })).toMatchObject({ code: 0 });
  });
});

describe('queryTxt against nsd', () => {
  it('sees the CNAME at a delegated challenge name, even when nsd follows it to a missing target', async () => {
    // The primary also serves other.test, where x.acme.other.test does not exist: nsd follows
    // the CNAME and answers NXDOMAIN with the CNAME in the answer section.
    const result = await queryTxt({ host: primaryAddress, port }, 'deleg.example.test', { onQuery });
    expect(result).toMatchObject({ status: 'answer', values: [], cname: 'x.acme.other.test' });
  });
});

describe('isolation', () => {
  it('never queried anything but the loopback servers of this file', () => {
    // The 2001:db8:: addresses were only tried: in the loopback-only namespace (checked by
    // assertUnreachable) the kernel refuses them at connect(), before any packet is sent.
    const allowed = new Set([primary.server, secondary.server, six.server, broken.server, `${downAddress}:${port}`, ...alsoAllowed]);
    expect(queried.size).toBeGreaterThan(0);
    expect([...queried].filter((server) => !allowed.has(server))).toEqual([]);
  });
});
