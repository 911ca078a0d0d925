import { rm } from 'node:fs/promises';
import { BoxApiError } from '../../errors.js';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../util/log.js';
import { UapiClient } from './client.js';
import { parseCpanelConfig } from './config.js';
import type { CpanelTransport, HttpAnswer } from './transport.js';
import { scratchDir } from '../../../test/fixtures/scratch.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A client whose every request gets `answer`; `sent` records the URLs. */
async function clientAnswering(answer: HttpAnswer): Promise<{ client: UapiClient; sent: string[] }> {
  const stateDir = await scratchDir('cpanel-client');
  dirs.push(stateDir);
  const sent: string[] = [];
  const transport: CpanelTransport = {
    send: async (_action, _method, url) => {
      sent.push(url);
      return answer;
    },
    close: async () => undefined,
  };
  const config = parseCpanelConfig({ CPANEL_BASE_URL: 'https://h.example:2083', CPANEL_USERNAME: 'alice', CPANEL_TOKEN: 'TOKENVALUE' });
  return { client: new UapiClient({ config, transport, stateDir, log: silentLogger }), sent };
}

const json = (value: unknown, status = 200): HttpAnswer => ({ status, headers: { 'content-type': 'application/json' }, text: JSON.stringify(value) });

describe('UapiClient answers', () => {
  it('URL-encodes every parameter value', async () => {
    const { client, sent } = await clientAnswering(json({ status: 1, data: [] }));
    await client.call('read', 'DNS', 'parse_zone', [['zone', 'a+b&c%d'], ['add', '{"data":["x y"]}']]);
    expect(sent[0]).toBe('https://h.example:2083/execute/DNS/parse_zone?zone=a%2Bb%26c%25d&add=%7B%22data%22%3A%5B%22x%20y%22%5D%7D');
  });

  it('a login page served with HTTP 200 in place of JSON is a refusal, never success', async () => {
    const { client } = await clientAnswering({ status: 200, headers: { 'content-type': 'text/html' }, text: '<html><form id="login_form"></form></html>' });
    await expect(client.call('list zones', 'DomainInfo', 'list_domains')).rejects.toMatchObject({ code: 'auth-invalid-credentials' });
  });

  it('status 0 naming a missing feature says the Zone Editor feature is needed', async () => {
    const { client } = await clientAnswering(json({ status: 0, errors: ['You do not have the feature “zoneedit”.'], data: null }));
    const failure = client.call('read records', 'DNS', 'parse_zone', [['zone', 'example.test']]);
    await expect(failure).rejects.toMatchObject({ code: 'auth-invalid-credentials' });
    await expect(failure).rejects.toThrow(/^cpanel: read records: .*Zone Editor feature/);
  });

  it('status 0 is a box-rejected error carrying the server texts', async () => {
    const { client } = await clientAnswering(json({ status: 0, errors: ['Something broke.'], data: null }));
    await expect(client.call('add record', 'DNS', 'mass_edit_zone')).rejects.toMatchObject({ code: 'box-rejected', uapiErrors: ['Something broke.'] });
  });

  it('an answer without the envelope, or an HTTP error page, is box-http', async () => {
    await expect((await clientAnswering(json({ data: [] }))).client.call('x', 'DNS', 'parse_zone')).rejects.toMatchObject({ code: 'box-http' });
    await expect((await clientAnswering({ status: 500, headers: { 'content-type': 'text/html' }, text: '<html>Internal</html>' })).client.call('x', 'DNS', 'parse_zone')).rejects.toMatchObject({ code: 'box-http', status: 500 });
  });
});

describe('UapiClient: a refused password is remembered for every later process', () => {
  const loginRefused = json({ status: 0, message: 'The login is invalid.' });
  const deniedPage: HttpAnswer = { status: 401, headers: { 'content-type': 'text/html' }, text: '<html>Access denied</html>' };

  async function passwordClients(env: Record<string, string>, answer: HttpAnswer): Promise<{ open: (password: string) => UapiClient; sent: string[] }> {
    const stateDir = await scratchDir('cpanel-refused');
    dirs.push(stateDir);
    const sent: string[] = [];
    const transport: CpanelTransport = {
      send: async (_action, _method, url) => {
        sent.push(url);
        return answer;
      },
      close: async () => undefined,
    };
    return {
      sent,
      open: (password) =>
        new UapiClient({ config: parseCpanelConfig({ CPANEL_BASE_URL: 'https://h.example:2083', CPANEL_USERNAME: 'alice', CPANEL_PASSWORD: password, ...env }), transport, stateDir, log: silentLogger }),
    };
  }

  it.each([
    { mode: 'session', env: { CPANEL_AUTH: 'session' }, answer: loginRefused },
    { mode: 'otp-header', env: { CPANEL_AUTH: 'otp-header' }, answer: deniedPage },
  ])('$mode: one refused request, then every later client fails at once without a request', async ({ env, answer }) => {
    const { open, sent } = await passwordClients(env, answer);
    await expect(open('wrong').call('list zones', 'DomainInfo', 'list_domains')).rejects.toMatchObject({ code: 'auth-invalid-credentials' });
    expect(sent).toHaveLength(1);
    for (let i = 0; i < 5; i++) {
      await expect(open('wrong').call('list zones', 'DomainInfo', 'list_domains')).rejects.toMatchObject({ code: 'auth-invalid-credentials', message: expect.stringContaining('no login was sent now') });
    }
    expect(sent).toHaveLength(1);
    // Another password is tried at once.
    await expect(open('other').call('list zones', 'DomainInfo', 'list_domains')).rejects.toMatchObject({ code: 'auth-invalid-credentials' });
    expect(sent).toHaveLength(2);
  });
});

describe('UapiClient: transient faults are retried (p-retry), a login never', () => {
  const badGateway: HttpAnswer = { status: 502, headers: { 'content-type': 'text/html' }, text: '<html>502 Bad Gateway</html>' };

  async function scripted(env: Record<string, string>, answers: HttpAnswer[]): Promise<{ client: UapiClient; sent: string[] }> {
    const stateDir = await scratchDir('cpanel-retry');
    dirs.push(stateDir);
    const sent: string[] = [];
    const transport: CpanelTransport = {
      send: async (_action, _method, url) => {
        sent.push(url);
        return answers.shift() ?? json({ status: 1, data: [] });
      },
      close: async () => undefined,
    };
    const config = parseCpanelConfig({ CPANEL_BASE_URL: 'https://h.example:2083', CPANEL_USERNAME: 'alice', ...env });
    return { client: new UapiClient({ config, transport, stateDir, log: silentLogger, retry: { minTimeoutMs: 1, maxTimeoutMs: 2 } }), sent };
  }

  it('a 502 then the answer: two requests, the data', async () => {
    const { client, sent } = await scripted({ CPANEL_TOKEN: 'T' }, [badGateway, json({ status: 1, data: ['ok'] })]);
    expect(await client.call('list zones', 'DomainInfo', 'list_domains')).toEqual(['ok']);
    expect(sent).toHaveLength(2);
  });

  it('a connection reset on the login is not retried (its answer may have been a refusal)', async () => {
    const stateDir = await scratchDir('cpanel-retry');
    dirs.push(stateDir);
    let logins = 0;
    const transport: CpanelTransport = {
      send: async (_action, _method, url) => {
        if (url.includes('/login/')) {
          logins += 1;
          throw new BoxApiError('box-unreachable', 'cpanel: cannot reach h.example: ECONNRESET');
        }
        return json({ status: 1, data: [] });
      },
      close: async () => undefined,
    };
    const config = parseCpanelConfig({ CPANEL_BASE_URL: 'https://h.example:2083', CPANEL_USERNAME: 'alice', CPANEL_AUTH: 'session', CPANEL_PASSWORD: 'pw' });
    const client = new UapiClient({ config, transport, stateDir, log: silentLogger, retry: { minTimeoutMs: 1, maxTimeoutMs: 2 } });
    await expect(client.call('list zones', 'DomainInfo', 'list_domains')).rejects.toMatchObject({ code: 'box-unreachable' });
    expect(logins).toBe(1);
  });
});
