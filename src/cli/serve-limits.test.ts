/** serve's bounds as flags and variables: flag > environment, whole numbers only, defaults kept when unset. */
import { expect, it } from 'vitest';
import { parseArgs } from './args.js';
import { parseServeLimits } from './serve.js';
import { SERVE_OPTIONS } from './serve-spec.js';

const parse = (tokens: string[]) => parseArgs(tokens, SERVE_OPTIONS, false, 'serve');

it('reads each bound from its flag, else its variable', () => {
  const limits = parseServeLimits(parse(['--max-connections-per-address', '8']), { MIAB_DNS01_SERVE_MAX_CONNECTIONS_PER_ADDRESS: '99', MIAB_DNS01_SERVE_MAX_VALUES_PER_NAME: '4', MIAB_DNS01_SERVE_IPV6_PREFIX: '56' });
  expect(limits).toEqual({ maxConnectionsPerAddress: 8, maxValuesPerName: 4, ipv6Prefix: 56 });
  expect(parseServeLimits(parse([]), {})).toEqual({});
});

it('refuses a bound that is not a whole number in range, naming where it came from', () => {
  expect(() => parseServeLimits(parse(['--max-writes-per-client', '0']), {})).toThrow(/--max-writes-per-client takes a whole number from 1/);
  expect(() => parseServeLimits(parse([]), { MIAB_DNS01_SERVE_IPV6_PREFIX: '129' })).toThrow(/MIAB_DNS01_SERVE_IPV6_PREFIX takes a whole number from 1 to 128/);
  expect(() => parseServeLimits(parse(['--max-connections', '1e3']), {})).toThrow(/--max-connections/);
});
