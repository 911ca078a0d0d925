import { describe, expect, it } from 'vitest';
import { PropagationError } from '../errors.js';
import { dropUnroutable, pendingServers, planChecks, report, timeoutError, type CheckedServer } from './batch.js';
import type { Nameserver } from './discovery.js';
import { DEFAULT_PROPAGATION_SETTINGS } from './settings.js';

const ns1: Nameserver = { names: ['ns1.box.test'], address: { host: '127.0.0.2', port: 53 } };
const ns1v6: Nameserver = { names: ['ns1.box.test'], address: { host: '2001:db8::2', port: 53 } };
const ns2: Nameserver = { names: ['ns2.box.test'], address: { host: '127.0.0.3', port: 53 } };
const ns2AsOther: Nameserver = { names: ['ns2.other.test'], address: { host: '127.0.0.3', port: 53 } };

describe('planChecks', () => {
  it('makes one check per (server, name), with every value at that name', () => {
    const servers = planChecks(
      [
        { fqdn: '_acme-challenge.example.test', zone: 'example.test', value: 'apex' },
        { fqdn: '_acme-challenge.example.test', zone: 'example.test', value: 'wildcard' },
        { fqdn: '_acme-challenge.example.test', zone: 'example.test', value: 'apex' },
        { fqdn: 'x.acme.other.test', zone: 'other.test', value: 'delegated' },
      ],
      new Map([
        ['example.test', [ns1, ns2]],
        ['other.test', [ns2AsOther]],
      ]),
    );
    expect(servers.map((server) => server.label)).toEqual(['ns1.box.test (127.0.0.2:53)', 'ns2.box.test/ns2.other.test (127.0.0.3:53)']);
    expect(servers[0]?.checks).toEqual([{ fqdn: '_acme-challenge.example.test', zone: 'example.test', expected: ['apex', 'wildcard'], observation: undefined }]);
    expect(servers[1]?.checks.map((check) => check.fqdn)).toEqual(['_acme-challenge.example.test', 'x.acme.other.test']);
  });
});

function serverWith(nameserver: Nameserver, ...observations: CheckedServer['checks'][number]['observation'][]): CheckedServer {
  return {
    nameserver,
    label: nameserver.address.host,
    dropped: false,
    checks: observations.map((observation, i) => ({ fqdn: `n${i}.example.test`, zone: 'example.test', expected: ['v'], observation })),
  };
}

describe('dropUnroutable', () => {
  const noRoute = { kind: 'no-answer', failure: 'no-route', detail: 'ENETUNREACH' } as const;

  it('drops an unroutable address when its NS name is checked elsewhere', () => {
    const servers = [serverWith(ns1, { kind: 'ok' }), serverWith(ns1v6, noRoute), serverWith(ns2, { kind: 'nxdomain' })];
    expect(dropUnroutable(servers).map((server) => server.nameserver.address.host)).toEqual(['2001:db8::2']);
    expect(pendingServers(servers).map((server) => server.label)).toEqual(['127.0.0.3']);
  });

  it('keeps the only address of a nameserver, and addresses the user gave', () => {
    const alone = [serverWith(ns1v6, noRoute), serverWith(ns2, { kind: 'ok' })];
    expect(dropUnroutable(alone)).toEqual([]);
    const given = [serverWith({ names: [], address: ns1v6.address }, noRoute), serverWith(ns1, { kind: 'ok' })];
    expect(dropUnroutable(given)).toEqual([]);
  });

  it('keeps a server with other failures (timeouts may pass)', () => {
    const servers = [serverWith(ns1, { kind: 'ok' }), serverWith(ns1v6, { kind: 'no-answer', failure: 'timeout', detail: '' })];
    expect(dropUnroutable(servers)).toEqual([]);
  });
});

describe('reports', () => {
  it('summarises one name per server plainly, several with their names', () => {
    expect(report(serverWith(ns2, { kind: 'nxdomain' }))).toEqual({ server: '127.0.0.3:53', lastAnswer: 'NXDOMAIN', ok: false });
    expect(report(serverWith(ns1, { kind: 'ok' }, { kind: 'stale', has: ['old'] }))).toEqual({
      server: '127.0.0.2:53',
      lastAnswer: 'n0.example.test: ok; n1.example.test: stale (has: "old")',
      ok: false,
    });
  });

  it('builds a timeout error listing every server and what to check', () => {
    const servers = [serverWith(ns1, { kind: 'ok' }), serverWith(ns2, { kind: 'rcode', rcode: 'REFUSED' })];
    const error = timeoutError(servers, 4000, { ...DEFAULT_PROPAGATION_SETTINGS, timeoutMs: 4000 }, 1);
    expect(error).toBeInstanceOf(PropagationError);
    expect(error.code).toBe('propagation-timeout');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('1 of 2 nameservers did not serve the 1 TXT record within 4.0 s (MIAB_PROPAGATION_TIMEOUT=4)');
    expect(error.message).toContain('  127.0.0.2: n0.example.test: ok');
    expect(error.message).toContain('  127.0.0.3: n0.example.test: REFUSED');
    expect(error.message).toMatch(/What to check:\n  - REFUSED: the server does not serve example.test/);
    expect(error.nameservers).toEqual([
      { server: '127.0.0.2:53', lastAnswer: 'ok', ok: true },
      { server: '127.0.0.3:53', lastAnswer: 'REFUSED', ok: false },
    ]);
  });
});
