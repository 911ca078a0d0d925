import { describe, expect, it } from 'vitest';
import { describeObservation, hintFor, observe, type Observation } from './observation.js';

describe('observe', () => {
  const answer = (values: string[], cname?: string) => ({ status: 'answer' as const, values, cname, transport: 'udp' as const });

  it('is ok when every expected value is served, extra values or not', () => {
    expect(observe(answer(['a', 'b', 'old']), ['a', 'b'])).toEqual({ kind: 'ok' });
  });

  it('is stale when some TXT records are served but not all of ours', () => {
    expect(observe(answer(['a', 'old']), ['a', 'b'])).toEqual({ kind: 'stale', has: ['a', 'old'] });
  });

  it('tells NODATA and CNAME apart', () => {
    expect(observe(answer([]), ['a'])).toEqual({ kind: 'nodata' });
    expect(observe(answer([], 'target.other.test'), ['a'])).toEqual({ kind: 'cname', target: 'target.other.test' });
  });

  it('maps the other outcomes', () => {
    expect(observe({ status: 'nxdomain' } as never, ['a'])).toEqual({ kind: 'nxdomain' });
    expect(observe({ status: 'error', rcode: 'REFUSED' } as never, ['a'])).toEqual({ kind: 'rcode', rcode: 'REFUSED' });
    expect(observe({ status: 'no-answer', failure: 'timeout', detail: 'no reply' }, ['a'])).toEqual({ kind: 'no-answer', failure: 'timeout', detail: 'no reply' });
  });
});

describe('describeObservation', () => {
  it.each<[Observation, string]>([
    [{ kind: 'ok' }, 'ok'],
    [{ kind: 'stale', has: ['old'] }, 'stale (has: "old")'],
    [{ kind: 'stale', has: ['a', 'b', 'c', 'd', 'e'] }, 'stale (has: "a", "b", "c" and 2 more)'],
    [{ kind: 'nxdomain' }, 'NXDOMAIN'],
    [{ kind: 'rcode', rcode: 'SERVFAIL' }, 'SERVFAIL'],
    [{ kind: 'rcode', rcode: 'REFUSED' }, 'REFUSED'],
    [{ kind: 'not-authoritative' }, 'not authoritative (answered without the AA flag)'],
    [{ kind: 'no-answer', failure: 'timeout', detail: 'no reply within 2000 ms' }, 'no answer (no reply within 2000 ms)'],
  ])('%j reads "%s"', (observation, text) => {
    expect(describeObservation(observation)).toBe(text);
  });

  it('shortens long values', () => {
    expect(describeObservation({ kind: 'stale', has: ['x'.repeat(500)] })).toHaveLength('stale (has: "")'.length + 63);
  });
});

describe('hintFor', () => {
  const context = { zone: 'example.test', port: 53 };
  it('says what to check for each problem', () => {
    expect(hintFor({ kind: 'ok' }, context)).toBeUndefined();
    expect(hintFor({ kind: 'nxdomain' }, context)).toMatch(/secondary.*NOTIFY.*MIAB_PROPAGATION_TIMEOUT/s);
    expect(hintFor({ kind: 'rcode', rcode: 'REFUSED' }, context)).toMatch(/does not serve example.test.*NS records/s);
    expect(hintFor({ kind: 'rcode', rcode: 'SERVFAIL' }, context)).toMatch(/could not load it.*nsd-checkzone example.test/s);
    expect(hintFor({ kind: 'no-answer', failure: 'timeout', detail: '' }, context)).toMatch(/UDP and TCP port 53.*MIAB_NAMESERVERS.*MIAB_PROPAGATION_WAIT/s);
    expect(hintFor({ kind: 'not-authoritative' }, context)).toMatch(/resolver/);
  });

  it('names the DNS host as the provider names it, never assuming a box', () => {
    const hosts = [hintFor({ kind: 'nxdomain' }, { ...context, host: 'cPanel account' }), hintFor({ kind: 'rcode', rcode: 'SERVFAIL' }, { ...context, host: 'cPanel account' })];
    for (const hint of hosts) {
      expect(hint).toContain('the cPanel account');
      expect(hint).not.toMatch(/\bbox\b/);
    }
    expect(hintFor({ kind: 'nxdomain' }, context)).toContain('from the DNS host');
  });
});
