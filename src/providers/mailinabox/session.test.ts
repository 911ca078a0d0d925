import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BoxApiError } from '../../errors.js';
import { silentLogger } from '../../util/log.js';
import { REFUSAL_MEMORY_MS } from '../../state/refused-logins.js';
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

describe('SessionAuthenticator: a refused login is remembered', () => {
  const WRONG: LoginResponse = { status: 'invalid', reason: 'Incorrect email address or password.' };

  function withPassword(box: LoginEndpoint, password: string, now?: () => number): SessionAuthenticator {
    return new SessionAuthenticator({
      credentials: { apiUrl: 'https://box.test/admin', email: 'admin@box.test', password, totpSecret: SECRET },
      stateDir,
      endpoint: box,
      log: silentLogger,
      ...(now ? { now } : {}),
    });
  }

  it('a later process with the same credentials fails at once, with the same code, sending nothing', async () => {
    const box = endpoint([WRONG]);
    await expect(withPassword(box, 'wrong-pass').authorization()).rejects.toMatchObject({ code: 'auth-invalid-credentials' });
    expect(box.codes).toHaveLength(1);
    // Nineteen more hook processes: not one more login.
    for (let i = 0; i < 19; i++) {
      const later = withPassword(box, 'wrong-pass');
      await expect(later.authorization()).rejects.toMatchObject({ code: 'auth-invalid-credentials', message: expect.stringMatching(/no login was sent now.*check --login/) });
      expect(later.loginsSent).toBe(0);
    }
    expect(box.codes).toHaveLength(1);
    // The file holds neither the password nor the TOTP secret, and is private.
    const files = await readdir(join(stateDir, 'refused-logins'));
    expect(files).toHaveLength(1);
    const text = await readFile(join(stateDir, 'refused-logins', files[0] ?? ''), 'utf8');
    expect(text).not.toContain('wrong-pass');
    expect(text).not.toContain(SECRET);
    expect((await stat(join(stateDir, 'refused-logins', files[0] ?? ''))).mode & 0o777).toBe(0o600);
  });

  it('the same process sends no second login after a refusal (a forgotten session, the agent)', async () => {
    const box = endpoint([WRONG]);
    const auth = withPassword(box, 'wrong-pass');
    await expect(auth.authorization()).rejects.toMatchObject({ code: 'auth-invalid-credentials' });
    await expect(auth.authorization()).rejects.toMatchObject({ code: 'auth-invalid-credentials' });
    expect(box.codes).toHaveLength(1);
  });

  it('a TOTP refused twice is remembered as auth-invalid-totp', async () => {
    const box = endpoint([REFUSED, REFUSED]);
    await expect(withPassword(box, 'pw').authorization()).rejects.toMatchObject({ code: 'auth-invalid-totp' });
    await expect(withPassword(box, 'pw').authorization()).rejects.toMatchObject({ code: 'auth-invalid-totp' });
    expect(box.codes).toHaveLength(2);
  });

  it('changed credentials log in at once, and their success forgets the refusal', async () => {
    const box = endpoint([WRONG]);
    await expect(withPassword(box, 'wrong-pass').authorization()).rejects.toThrow();
    await withPassword(box, 'right-pass').authorization();
    expect(box.codes).toHaveLength(2);
    expect(await readdir(join(stateDir, 'refused-logins'))).toEqual([]);
  });

  it('after an hour one login is tried again', async () => {
    const box = endpoint([WRONG, WRONG]);
    let now = Date.now();
    await expect(withPassword(box, 'wrong-pass', () => now).authorization()).rejects.toThrow();
    now += REFUSAL_MEMORY_MS - 60_000;
    await expect(withPassword(box, 'wrong-pass', () => now).authorization()).rejects.toThrow(/in 1 min/);
    expect(box.codes).toHaveLength(1);
    now += 60_000;
    await expect(withPassword(box, 'wrong-pass', () => now).authorization()).rejects.toThrow(/^the box refused the login/);
    expect(box.codes).toHaveLength(2);
  });

  it('verifyLogin (check --login) sends one login despite the remembered refusal, and remembers the new answer', async () => {
    const box = endpoint([WRONG, WRONG]);
    await expect(withPassword(box, 'wrong-pass').authorization()).rejects.toThrow();
    await expect(withPassword(box, 'wrong-pass').verifyLogin()).rejects.toMatchObject({ code: 'auth-invalid-credentials' });
    expect(box.codes).toHaveLength(2);
    await expect(withPassword(box, 'wrong-pass').authorization()).rejects.toThrow(/no login was sent now/);
    expect(box.codes).toHaveLength(2);
    // The box's password was reset to this one meanwhile: check --login finds it works.
    await withPassword(box, 'wrong-pass').verifyLogin();
    expect(box.codes).toHaveLength(3);
    await withPassword(box, 'wrong-pass').authorization();
    expect(box.codes).toHaveLength(3);
  });
});
