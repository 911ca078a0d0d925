import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { DEFAULT_PROPAGATION_SETTINGS, parsePropagationSettings } from './settings.js';

function configError(env: Record<string, string>): ConfigError {
  try {
    parsePropagationSettings(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parsePropagationSettings', () => {
  it('has the documented defaults', () => {
    const settings = parsePropagationSettings({});
    expect(settings).toEqual(DEFAULT_PROPAGATION_SETTINGS);
    expect(settings).toMatchObject({ resolvers: undefined, dnsPort: 53, nameservers: undefined, timeoutMs: 300_000, fixedWaitMs: undefined });
    expect(settings.initialIntervalMs).toBeLessThanOrEqual(500);
    expect(settings.maxIntervalMs).toBe(5000);
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it('treats empty variables as unset', () => {
    expect(parsePropagationSettings({ MIAB_DNS_RESOLVERS: '', MIAB_PROPAGATION_TIMEOUT: ' ', MIAB_DNS_PORT: undefined })).toEqual(DEFAULT_PROPAGATION_SETTINGS);
  });

  it('reads every variable', () => {
    const settings = parsePropagationSettings({
      MIAB_DNS_RESOLVERS: '127.0.0.1:5300, ::1,[::1]:5301,',
      MIAB_DNS_PORT: '5353',
      MIAB_NAMESERVERS: 'ns1.box.test,192.0.2.7:53,[2001:db8::7]',
      MIAB_PROPAGATION_TIMEOUT: '2.5',
      MIAB_PROPAGATION_WAIT: '90s',
    });
    expect(settings.resolvers).toEqual([
      { host: '127.0.0.1', port: 5300 },
      { host: '::1', port: 53 },
      { host: '::1', port: 5301 },
    ]);
    expect(settings.dnsPort).toBe(5353);
    // Nameservers without a port use MIAB_DNS_PORT; resolvers default to 53 whatever it says.
    expect(settings.nameservers).toEqual([
      { host: 'ns1.box.test', port: 5353 },
      { host: '192.0.2.7', port: 53 },
      { host: '2001:db8::7', port: 5353 },
    ]);
    expect(settings.timeoutMs).toBe(2500);
    expect(settings.fixedWaitMs).toBe(90_000);
  });

  it('accepts minutes and hours, and 0', () => {
    expect(parsePropagationSettings({ MIAB_PROPAGATION_TIMEOUT: '5m' }).timeoutMs).toBe(300_000);
    expect(parsePropagationSettings({ MIAB_PROPAGATION_TIMEOUT: '1h' }).timeoutMs).toBe(3_600_000);
    expect(parsePropagationSettings({ MIAB_PROPAGATION_WAIT: '0' }).fixedWaitMs).toBe(0);
  });

  it('applies overrides last', () => {
    expect(parsePropagationSettings({ MIAB_PROPAGATION_TIMEOUT: '10' }, { timeoutMs: 1, maxIntervalMs: 100 })).toMatchObject({ timeoutMs: 1, maxIntervalMs: 100 });
  });

  it.each([
    ['MIAB_DNS_PORT', '0', /between 1 and 65535/],
    ['MIAB_DNS_PORT', '65536', /between 1 and 65535/],
    ['MIAB_DNS_PORT', '53a', /between 1 and 65535/],
    ['MIAB_DNS_RESOLVERS', 'dns.google', /not an IP address.*IP addresses with optional ports/],
    ['MIAB_DNS_RESOLVERS', ',,', /no server listed/],
    ['MIAB_DNS_RESOLVERS', '1.1.1.1:99999', /outside 1-65535/],
    ['MIAB_NAMESERVERS', 'ns1', /fully qualified/],
    ['MIAB_NAMESERVERS', 'ns1.example.com:x', /not a number/],
    ['MIAB_PROPAGATION_TIMEOUT', 'soon', /number of seconds/],
    ['MIAB_PROPAGATION_TIMEOUT', '-5', /number of seconds/],
    ['MIAB_PROPAGATION_TIMEOUT', '2d', /number of seconds/],
    ['MIAB_PROPAGATION_TIMEOUT', '90000', /longer than a day/],
    ['MIAB_PROPAGATION_WAIT', '1e3', /number of seconds/],
  ])('rejects %s=%j with a message naming the variable and the form', (variable, value, message) => {
    const error = configError({ [variable]: value });
    expect(error.code).toBe('config-invalid');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(`${variable}=`);
    expect(error.message).toMatch(/expected/);
    expect(error.message).toMatch(message);
  });
});
