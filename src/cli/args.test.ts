import { describe, expect, it } from 'vitest';
import { mergeArgs, parseArgs, parseDuration, recordPairs } from './args.js';

const NO_WAIT = { name: 'no-wait', takesValue: false };

describe('parseArgs', () => {
  it('takes the token after a name as its value even when it starts with - or --', () => {
    for (const value of ['-abc', '--abc', '--no-wait', '-Nx', '--help', '-h']) {
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

  it('ends the options at the first -- wherever it stands before the positionals end', () => {
    for (const tokens of [
      ['example.test', '--', '-Nx'],
      ['--', 'example.test', '-Nx'],
      ['--no-wait', 'example.test', '--', '--Nx'],
      ['example.test', '--', '--Nx'],
    ]) {
      const args = parseArgs(tokens, [NO_WAIT], true);
      expect(recordPairs(args, 'present', true), tokens.join(' ')).toEqual([{ name: 'example.test', value: tokens.at(-1) }]);
    }
    // After --, even an option name is a positional.
    expect(parseArgs(['--', '--no-wait'], [NO_WAIT], false).positionals).toEqual(['--no-wait']);
    // Only the first -- is special: a second one is a positional.
    expect(parseArgs(['a.test', '--', '--', 'x'], [], false).positionals).toEqual(['a.test', '--', 'x']);
  });

  it('merges options given before and after the command, refusing one given twice', () => {
    const before = parseArgs(['--url', 'a.test'], [], false);
    const after = parseArgs(['--debug', 'x'], [], false);
    expect(mergeArgs(before, after, [], 'zones').options).toEqual(new Map([['url', ['a.test']], ['debug', ['true']]]));
    expect(() => mergeArgs(before, parseArgs(['--url=b.test'], [], false), [], 'zones')).toThrow(/--url given twice; see "miab-dns01 help zones"/);
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
    for (const text of ['90', '1w', '-1s', 'abc', '', '1.s', 's']) expect(() => parseDuration(text, '--older-than')).toThrow(/--older-than takes a duration/);
  });
  it('reads a bare number in the unit given, where a setting is documented in that unit', () => {
    expect(parseDuration('30', '--renew-within', 'd')).toBe(30 * 86_400_000);
    expect(parseDuration('12h', '--renew-within', 'd')).toBe(12 * 3_600_000);
    expect(() => parseDuration('soon', '--renew-within', 'd')).toThrow(/or a plain number of days/);
  });
});
