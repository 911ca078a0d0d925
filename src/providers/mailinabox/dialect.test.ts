import { describe, expect, it } from 'vitest';
import { BoxApiError } from '../../errors.js';
import { DEFAULT_CHALLENGE_TTL_SECONDS, FORK_NO_VALUE_ANSWER, isForkRefusal, parseDialect, parseFlavor, writeBody } from './dialect.js';

describe('writeBody', () => {
  it('upstream: the raw value as text/plain', () => {
    expect(writeBody({ flavor: 'upstream' }, 'POST', 'a+b=c&d')).toEqual({ text: 'a+b=c&d', contentType: 'text/plain; charset=us-ascii' });
    expect(writeBody({ flavor: 'upstream' }, 'DELETE', 'v')).toEqual({ text: 'v', contentType: 'text/plain; charset=us-ascii' });
  });

  it('power: a form with value (encoded) and, on POST only, the TTL', () => {
    const power = { flavor: 'power', txtTtlSeconds: 120 } as const;
    const post = writeBody(power, 'POST', '-x+y/z=&q');
    expect(post.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(post.text))).toEqual({ value: '-x+y/z=&q', ttl: '120' });
    const del = writeBody(power, 'DELETE', '-x+y/z=&q');
    expect(Object.fromEntries(new URLSearchParams(del.text))).toEqual({ value: '-x+y/z=&q' });
  });
});

describe('isForkRefusal', () => {
  const refusal = (status: number, body: string, code: 'box-rejected' | 'box-http' = 'box-rejected'): BoxApiError => new BoxApiError(code, 'x', { status, body });
  it('is exactly the fork\'s 400 "No value for the record provided."', () => {
    expect(isForkRefusal(refusal(400, FORK_NO_VALUE_ANSWER))).toBe(true);
    expect(isForkRefusal(refusal(400, 'Invalid name.'))).toBe(false);
    expect(isForkRefusal(refusal(500, FORK_NO_VALUE_ANSWER, 'box-http'))).toBe(false);
    expect(isForkRefusal(refusal(400, `${FORK_NO_VALUE_ANSWER} Or something else.`))).toBe(false);
  });
});

describe('parseDialect', () => {
  it('defaults to upstream; power gets the default challenge TTL', () => {
    expect(parseDialect(undefined, undefined)).toEqual({ flavor: 'upstream' });
    expect(parseDialect('', undefined)).toEqual({ flavor: 'upstream' });
    expect(parseDialect(' Power ', undefined)).toEqual({ flavor: 'power', txtTtlSeconds: DEFAULT_CHALLENGE_TTL_SECONDS });
    expect(DEFAULT_CHALLENGE_TTL_SECONDS).toBe(300);
  });

  it('takes a TTL in seconds or as a duration, with the power flavour', () => {
    expect(parseDialect('power', '60')).toEqual({ flavor: 'power', txtTtlSeconds: 60 });
    expect(parseDialect('power', '2m')).toEqual({ flavor: 'power', txtTtlSeconds: 120 });
    expect(parseDialect('power', '30')).toEqual({ flavor: 'power', txtTtlSeconds: 30 });
    for (const bad of ['0', '-1', '29', 'soon', '1.5', '2d']) {
      expect(() => parseDialect('power', bad)).toThrow(expect.objectContaining({ code: 'config-invalid', message: expect.stringContaining('MIAB_TXT_TTL') }));
    }
  });

  it('refuses a TTL with the upstream flavour: upstream has no per-record TTL', () => {
    expect(() => parseDialect(undefined, '300')).toThrow(expect.objectContaining({ code: 'config-invalid', message: expect.stringMatching(/MIAB_TXT_TTL.*MIAB_FLAVOR=power/) }));
  });

  it('an unknown flavour names the setting and the allowed values', () => {
    expect(() => parseFlavor('powermail', 'flavor (/etc/miab.conf line 4)')).toThrow(
      expect.objectContaining({ code: 'config-invalid', message: expect.stringMatching(/^flavor \(\/etc\/miab\.conf line 4\)="powermail".*upstream, power/) }),
    );
  });
});
