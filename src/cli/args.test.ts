import { describe, expect, it } from 'vitest';
import { parseArgs, parseDuration, recordPairs } from './args.js';

const NO_WAIT = { name: 'no-wait', takesValue: false };

describe('parseArgs', () => {
  it('takes the token after a name as its value even when it starts with - or --', () => {
    for (const value of ['-abc', '--abc', '--no-wait', '--']) {
      const args = parseArgs(['example.com', value], [NO_WAIT], true);
      expect(recordPairs(args, 'present', true)).toEqual([{ name: 'example.com', value }]);
      expect(args.options.has('no-wait')).toBe(false);
    }
  });

  it('accepts options before, between and after the pair, and -- before positionals', () => {
    expect(parseArgs(['--no-wait', 'a.test', '-v'], [NO_WAIT], true).options.has('no-wait')).toBe(true);
    expect(parseArgs(['a.test', '-v', '--no-wait'], [NO_WAIT], true).options.has('no-wait')).toBe(true);
    const args = parseArgs(['--', 'a.test', '--x'], [NO_WAIT], true);
    expect(recordPairs(args, 'present', true)).toEqual([{ name: 'a.test', value: '--x' }]);
  });

  it('reads several pairs for wait', () => {
    const args = parseArgs(['a.test', '-1', 'b.test', '--2'], [], true);
    expect(recordPairs(args, 'wait', false)).toEqual([
      { name: 'a.test', value: '-1' },
      { name: 'b.test', value: '--2' },
    ]);
  });

  it('rejects unknown options with a usage error naming them', () => {
    expect(() => parseArgs(['--bogus', 'a.test', 'v'], [NO_WAIT], true)).toThrow(/unknown option --bogus/);
    expect(() => parseArgs(['-x'], [], false)).toThrow(/unknown option -x/);
  });

  it('refuses secrets as flags, pointing at the _FILE variable', () => {
    expect(() => parseArgs(['--password', 'hunter2'], [], false)).toThrow(/MIAB_PASSWORD_FILE/);
    expect(() => parseArgs(['--totp-secret=ABC'], [], false)).toThrow(/MIAB_TOTP_SECRET_FILE/);
  });

  it('reads --opt value and --opt=value for connection options', () => {
    expect(parseArgs(['--url', 'box.test', '--email=a@b.test'], [], false).options).toEqual(
      new Map([
        ['url', ['box.test']],
        ['email', ['a@b.test']],
      ]),
    );
    expect(() => parseArgs(['--url'], [], false)).toThrow(/needs a value/);
  });

  it('counts positionals exactly', () => {
    expect(() => recordPairs(parseArgs(['a.test'], [], true), 'present', true)).toThrow(/a name and a value/);
    expect(() => recordPairs(parseArgs(['a.test', 'v', 'b.test', 'w'], [], true), 'present', true)).toThrow(/got 4 arguments/);
  });
});

describe('parseDuration', () => {
  it('reads s, m, h, d', () => {
    expect(parseDuration('90s', 'x')).toBe(90_000);
    expect(parseDuration('30m', 'x')).toBe(1_800_000);
    expect(parseDuration('2h', 'x')).toBe(7_200_000);
    expect(parseDuration('1d', 'x')).toBe(86_400_000);
  });
  it('rejects other forms', () => {
    for (const text of ['90', '1w', '-1s', 'abc', '']) expect(() => parseDuration(text, '--older-than')).toThrow(/--older-than takes a duration/);
  });
});
