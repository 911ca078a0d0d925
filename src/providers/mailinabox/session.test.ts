import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BoxApiError } from '../../errors.js';
import { silentLogger } from '../../util/log.js';
import { SessionAuthenticator } from './session.js';
import type { LoginEndpoint, LoginResponse } from './types.js';
import { scratchDir } from '../../../test/fixtures/scratch.js';

const SECRET = 'JBSWY3DPEHPK3PXPMIABTOTPSECRETQQ';
const OK: LoginResponse = { status: 'ok', api_key: 'a'.repeat(64), privileges: ['admin'] };
const REFUSED: LoginResponse = { status: 'invalid', reason: 'invalid-totp-token' };

/** A box endpoint that records the TOTP codes it was sent and answers from a script. */
function endpoint(answers: (LoginResponse | Error)[]): LoginEndpoint & { codes: (string | undefined)[] } {
  const codes: (string | undefined)[] = [];
  return {
    codes,
    async login(_authorization, code) {
      codes.push(code);
      const answer = answers.shift() ?? OK;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    async logout() {},
    loginNeverReached: (error) => error instanceof BoxApiError && error.code === 'box-unreachable',
  };
}

let stateDir: string;
beforeEach(async () => {
  stateDir = await scratchDir('session');
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

function authenticator(box: LoginEndpoint, apiUrl = 'https://box.test/admin', email = 'admin@box.test'): SessionAuthenticator {
  return new SessionAuthenticator({ credentials: { apiUrl, email, password: 'pw-123456', totpSecret: SECRET }, stateDir, endpoint: box, log: silentLogger });
}

describe('SessionAuthenticator TOTP', () => {
  it('a refused code (spent by another client): at once another code, no wait', async () => {
    const box = endpoint([REFUSED, OK]);
    const started = Date.now();
    await authenticator(box).authorization();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(box.codes).toHaveLength(2);
    expect(box.codes[0]).not.toBe(box.codes[1]);
  });

  it('one account reached through two URLs never sends one code twice, and never waits', async () => {
    const box = endpoint([]);
    const started = Date.now();
    await authenticator(box, 'https://box.test/admin').authorization();
    await authenticator(box, 'http://127.0.0.1:10222').authorization();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(box.codes).toHaveLength(2);
    expect(box.codes[0]).not.toBe(box.codes[1]);
  });

  it('a box that cannot be reached: the error as it is, no login counted, no code spent', async () => {
    const unreachable = new BoxApiError('box-unreachable', 'cannot reach the box at 127.0.0.1:1: connection refused');
    const box = endpoint([unreachable]);
    const auth = authenticator(box);
    await expect(auth.authorization()).rejects.toBe(unreachable);
    expect(auth.loginsSent).toBe(0);
    // The code was not spent: the next login sends it again.
    await auth.authorization();
    expect(box.codes).toHaveLength(2);
    expect(box.codes[1]).toBe(box.codes[0]);
    expect((await readdir(join(stateDir, 'sessions'))).join(' ')).not.toContain(SECRET);
  });
});
