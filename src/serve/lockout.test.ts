/** The per-address lockout: 10 failures a minute block that address only. */
import { describe, expect, it } from 'vitest';
import { Lockout } from './lockout.js';

describe('lockout', () => {
  it('blocks an address after 10 failures within 60 s, for 60 s, and no other address', () => {
    let now = 1_000_000;
    const lockout = new Lockout({ now: () => now });
    for (let index = 0; index < 9; index++) lockout.fail('a');
    expect(lockout.blockedFor('a')).toBe(0);
    lockout.fail('a');
    expect(lockout.blockedFor('a')).toBe(60_000);
    expect(lockout.blockedFor('b')).toBe(0);
    now += 60_000;
    expect(lockout.blockedFor('a')).toBe(0);
  });

  it('forgets failures older than the window', () => {
    let now = 0;
    const lockout = new Lockout({ now: () => now });
    for (let index = 0; index < 9; index++) lockout.fail('a');
    now += 61_000;
    lockout.fail('a');
    expect(lockout.blockedFor('a')).toBe(0);
  });

  it('tracks a bounded number of addresses', () => {
    const lockout = new Lockout({ maxTracked: 100 });
    for (let index = 0; index < 1000; index++) lockout.fail(`10.0.${Math.floor(index / 250)}.${index % 250}`);
    // No assertion on internals: the spray must not throw and a fresh address is unaffected.
    expect(lockout.blockedFor('192.0.2.1')).toBe(0);
  });
});
