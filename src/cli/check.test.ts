import { describe, expect, it } from 'vitest';
import { describeSession } from './check.js';

describe('check: the session line', () => {
  it.each([
    [{ reused: false, logins: 1 }, true, 'logged in with the password and a TOTP code (1 login)'],
    [{ reused: false, logins: 2 }, false, 'logged in with the password (2 logins)'],
    // A session another process cached meanwhile: no "0 login".
    [{ reused: false, logins: 0 }, true, 'reused the cached session; the password was not tried ("miab-dns01 check --login" tries it)'],
    [{ reused: true, logins: 0 }, false, 'reused the cached session; the password was not tried ("miab-dns01 check --login" tries it)'],
  ])('%o (totp %s): %s', (session, totp, expected) => {
    expect(describeSession({ session, facts: { totp } })).toBe(expected);
  });

  it('no session line without a session (tokens, the system key)', () => {
    expect(describeSession({ session: undefined, facts: {} })).toBeUndefined();
  });
});
