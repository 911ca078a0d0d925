import { afterEach, describe, expect, it, vi } from 'vitest';
import { describePending, formatDuration, ProgressReporter, type PendingServer } from './progress.js';

const pending: PendingServer[] = [{ label: 'ns2.box.test (127.0.0.3:53)', missing: [{ fqdn: '_acme-challenge.example.test', observation: { kind: 'nxdomain' } }] }];

describe('formatting', () => {
  it('formats durations', () => {
    expect(formatDuration(420)).toBe('0.4 s');
    expect(formatDuration(12_400)).toBe('12 s');
    expect(formatDuration(245_000)).toBe('4 min 05 s');
  });

  it('says which server lacks which name, and why', () => {
    expect(describePending(pending)).toBe('ns2.box.test (127.0.0.3:53) lacks _acme-challenge.example.test (NXDOMAIN)');
    const many: PendingServer = {
      label: 'a:53',
      missing: ['n1', 'n2', 'n3', 'n4', 'n5'].map((fqdn) => ({ fqdn, observation: { kind: 'rcode', rcode: 'SERVFAIL' } as const })),
    };
    expect(describePending([many, ...pending])).toBe(
      'a:53 lacks n1 (SERVFAIL), n2 (SERVFAIL), n3 (SERVFAIL) and 2 more; ns2.box.test (127.0.0.3:53) lacks _acme-challenge.example.test (NXDOMAIN)',
    );
  });
});

describe('ProgressReporter', () => {
  it('on a terminal, writes a line after every check, at most two a second', () => {
    const lines: string[] = [];
    const reporter = new ProgressReporter((line) => lines.push(line), { isTTY: true });
    reporter.waiting(pending, 2, 100);
    reporter.waiting(pending, 2, 300);
    reporter.waiting(pending, 2, 700);
    expect(lines).toEqual([
      '[0.1 s] waiting for 1 of 2 nameservers: ns2.box.test (127.0.0.3:53) lacks _acme-challenge.example.test (NXDOMAIN)',
      '[0.7 s] waiting for 1 of 2 nameservers: ns2.box.test (127.0.0.3:53) lacks _acme-challenge.example.test (NXDOMAIN)',
    ]);
  });

  it('elsewhere, writes only changes and a rare heartbeat', () => {
    const lines: string[] = [];
    const reporter = new ProgressReporter((line) => lines.push(line), { isTTY: false, heartbeatMs: 10_000 });
    reporter.waiting(pending, 2, 100);
    reporter.waiting(pending, 2, 700);
    reporter.waiting(pending, 2, 5000);
    const changed: PendingServer[] = [{ label: pending[0]?.label ?? '', missing: [{ fqdn: '_acme-challenge.example.test', observation: { kind: 'stale', has: ['old'] } }] }];
    reporter.waiting(changed, 2, 6000);
    reporter.waiting(changed, 2, 16_500);
    expect(lines.map((line) => line.slice(0, 7))).toEqual(['[0.1 s]', '[6.0 s]', '[17 s] ']);
  });

  it('writes to a stream with newlines and takes its isTTY', () => {
    const chunks: string[] = [];
    const stream = { isTTY: true, write: (text: string) => chunks.push(text) };
    const reporter = new ProgressReporter(stream);
    reporter.note('hello');
    reporter.waiting(pending, 1, 10);
    // Repeated after 0.6 s only because the stream is a terminal (elsewhere: once a minute).
    reporter.waiting(pending, 1, 610);
    expect(chunks).toHaveLength(3);
    expect(chunks[0]).toBe('hello\n');
  });

  it('is silent without a sink: nothing reaches the process streams or the console', () => {
    const writes = [vi.spyOn(process.stderr, 'write'), vi.spyOn(process.stdout, 'write'), vi.spyOn(console, 'log'), vi.spyOn(console, 'error')];
    const reporter = new ProgressReporter(undefined, { isTTY: true });
    reporter.note('nobody hears this');
    reporter.waiting(pending, 1, 10);
    reporter.waiting(pending, 1, 5000);
    for (const spy of writes) expect(spy).not.toHaveBeenCalled();
  });

  it('agrees "nameserver" with the count', () => {
    const lines: string[] = [];
    const reporter = new ProgressReporter((line) => lines.push(line));
    reporter.waiting(pending, 1, 100);
    expect(lines).toEqual(['[0.1 s] waiting for 1 of 1 nameserver: ns2.box.test (127.0.0.3:53) lacks _acme-challenge.example.test (NXDOMAIN)']);
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});
