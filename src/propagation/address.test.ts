import { describe, expect, it } from 'vitest';
import { formatServer, isIpAddress, parseHostPort } from './address.js';

const ipOnly = { defaultPort: 53, allowHostnames: false };
const names = { defaultPort: 5353, allowHostnames: true };

describe('parseHostPort', () => {
  it.each([
    ['192.0.2.1', { host: '192.0.2.1', port: 53 }],
    ['192.0.2.1:5300', { host: '192.0.2.1', port: 5300 }],
    [' 192.0.2.1 ', { host: '192.0.2.1', port: 53 }],
    ['::1', { host: '::1', port: 53 }],
    ['2001:db8::53', { host: '2001:db8::53', port: 53 }],
    ['[::1]', { host: '::1', port: 53 }],
    ['[::1]:5353', { host: '::1', port: 5353 }],
  ])('reads %s', (input, expected) => {
    expect(parseHostPort(input, ipOnly)).toEqual(expected);
  });

  it('reads host names when allowed, lower-cased and without trailing dot', () => {
    expect(parseHostPort('NS1.Box.Example.', names)).toEqual({ host: 'ns1.box.example', port: 5353 });
    expect(parseHostPort('ns1.box.example:53', names)).toEqual({ host: 'ns1.box.example', port: 53 });
  });

  it.each([
    ['', /empty/],
    ['ns1.example.com', /not an IP address/],
    ['192.0.2.1:0', /outside 1-65535/],
    ['192.0.2.1:70000', /outside 1-65535/],
    ['192.0.2.1:abc', /not a number/],
    ['[192.0.2.1]:53', /only IPv6/],
    ['2001:db8::1:53:x', /\[address\]:port/],
  ])('rejects %j', (input, message) => {
    expect(() => parseHostPort(input, ipOnly)).toThrow(message);
  });

  it('rejects names that are not fully qualified host names', () => {
    expect(() => parseHostPort('localhost', names)).toThrow(/fully qualified/);
    expect(() => parseHostPort('bad name.example', names)).toThrow(/fully qualified/);
  });
});

describe('formatServer', () => {
  it('brackets IPv6 only', () => {
    expect(formatServer({ host: '192.0.2.1', port: 53 })).toBe('192.0.2.1:53');
    expect(formatServer({ host: '::1', port: 5353 })).toBe('[::1]:5353');
    expect(formatServer({ host: 'ns1.example.com', port: 53 })).toBe('ns1.example.com:53');
  });

  it('round-trips through parseHostPort', () => {
    for (const server of [{ host: '::1', port: 1053 }, { host: '127.0.0.1', port: 53 }]) {
      expect(parseHostPort(formatServer(server), ipOnly)).toEqual(server);
    }
  });
});

describe('isIpAddress', () => {
  it('tells literals from names', () => {
    expect(isIpAddress('192.0.2.1')).toBe(true);
    expect(isIpAddress('::1')).toBe(true);
    expect(isIpAddress('ns1.example.com')).toBe(false);
  });
});
