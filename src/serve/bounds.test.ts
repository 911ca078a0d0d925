/** Issue 20's bounds as units: address keys, guess reservation, pruning, fair order, the verification bound. */
import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../test/fixtures/scratch.js';
import { addressKey } from './address-key.js';
import { AuthGate } from './auth-gate.js';
import { ConnectionGuard } from './connection-guard.js';
import { FairQueue } from './fair-queue.js';
import { Lockout } from './lockout.js';
import { ClientRegistry } from './registry.js';

describe('address keys', () => {
  it('counts IPv4 as is, IPv4-mapped as IPv4, IPv6 by its /64 (configurable)', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(addressKey('2001:db8:1:2::1')).toBe(addressKey('2001:DB8:1:2:ffff::9'));
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('2001:db8:1:2::1', 48)).toBe(addressKey('2001:db8:1:ff::1', 48));
    expect(addressKey('2001:db8::1', 128)).toBe('2001:db8::1');
  });
});

describe('guess reservation', () => {
  it('lets no more than 10 guesses be verified per address, however many arrive at once', () => {
    // A fixed clock: the block's remaining time is read a moment after it starts.
    const lockout = new Lockout({ now: () => 1_000_000 });
    const outcomes = Array.from({ length: 200 }, () => lockout.reserve('192.0.2.1'));
    expect(outcomes.filter((outcome) => outcome.allowed)).toHaveLength(10);
    for (const outcome of outcomes) if (outcome.allowed) outcome.reservation.failed();
    expect(lockout.blockedFor('192.0.2.1')).toBe(60_000);
    expect(lockout.reserve('192.0.2.2').allowed).toBe(true);
  });

  it('a right guess gives its reservation back', () => {
    const lockout = new Lockout();
    for (let index = 0; index < 50; index++) {
      const outcome = lockout.reserve('192.0.2.1');
      expect(outcome.allowed).toBe(true);
      if (outcome.allowed) outcome.reservation.succeeded();
    }
  });

  it('locks out a whole IPv6 /64, not one address of it', () => {
    const lockout = new Lockout();
    for (let index = 1; index <= 10; index++) lockout.fail(`2001:db8:0:1::${index.toString(16)}`);
    expect(lockout.blockedFor('2001:db8:0:1::ffff')).toBeGreaterThan(0);
    expect(lockout.blockedFor('2001:db8:0:2::1')).toBe(0);
  });
});

describe('lockout memory', () => {
  it('bounds blocked addresses like failures and drops expired blocks', () => {
    let now = 1_000_000;
    const lockout = new Lockout({ maxTracked: 1_000, now: () => now });
    for (let address = 0; address < 3_000; address++) {
      for (let failure = 0; failure < 10; failure++) lockout.fail(`10.${address >> 16}.${(address >> 8) & 255}.${address & 255}`);
    }
    expect(lockout.tracked).toBeLessThanOrEqual(2_000);
    now += 3_600_000;
    expect(lockout.blockedFor('192.0.2.1')).toBe(0);
    expect(lockout.tracked).toBe(0);
  });
});

describe('fair write order', () => {
  it("runs another client's task after at most one more of a busy client's", async () => {
    const queue = new FairQueue();
    const order: string[] = [];
    const task = (label: string) => () => new Promise<void>((resolve) => setTimeout(() => (order.push(label), resolve()), 5));
    const all = [1, 2, 3, 4, 5].map((index) => queue.run('busy', task(`busy${index}`)));
    all.push(queue.run('other', task('other')));
    await Promise.all(all);
    expect(order.indexOf('other')).toBeLessThanOrEqual(2);
  });
});

describe('connections per address', () => {
  it('admits up to the cap per address (IPv6 per /64) and exempts trusted proxies', () => {
    const guard = new ConnectionGuard({ maxPerAddress: 2 });
    expect([guard.admit('192.0.2.1'), guard.admit('192.0.2.1'), guard.admit('192.0.2.1')]).toEqual([true, true, false]);
    expect(guard.admit('192.0.2.2')).toBe(true);
    guard.release('192.0.2.1');
    expect(guard.admit('192.0.2.1')).toBe(true);
    expect([guard.admit('2001:db8::1'), guard.admit('2001:db8::2'), guard.admit('2001:db8::3')]).toEqual([true, true, false]);
  });
});

describe('verification bound', () => {
  it('refuses at once, without hashing, past the bound of slow hashes in flight; a verified client needs none', async () => {
    const stateDir = await scratchDir('auth-gate');
    try {
      const registry = new ClientRegistry(stateDir);
      const client = await registry.add({ name: 'web1', domains: ['a.example.test'], allowFrom: [], serverUrl: '' });
      const gate = new AuthGate(registry, new Lockout(), { maxPendingVerifications: 2 });
      expect((await gate.authenticate('192.0.2.9', client.username, client.password)).kind).toBe('ok');
      const guesses = Array.from({ length: 6 }, (_, index) => gate.authenticate(`198.51.100.${index}`, client.username, `wrong${index}`));
      expect(gate.pending).toBe(2);
      const during = await gate.authenticate('203.0.113.1', client.username, client.password);
      expect(during.kind).toBe('ok');
      const kinds = (await Promise.all(guesses)).map((outcome) => outcome.kind);
      expect(kinds.filter((kind) => kind === 'busy')).toHaveLength(4);
      expect(kinds.filter((kind) => kind === 'bad')).toHaveLength(2);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

describe('rate limit per address (for the UDP front-end)', () => {
  it('allows a burst, then the rate, per address (IPv6 per /64), with bounded memory', async () => {
    const { AddressRateLimit } = await import('./rate-limit.js');
    let now = 0;
    const limit = new AddressRateLimit({ perSecond: 10, burst: 5, maxTracked: 100, now: () => now });
    expect(Array.from({ length: 8 }, () => limit.take('192.0.2.1')).filter(Boolean)).toHaveLength(5);
    expect(limit.take('192.0.2.2')).toBe(true);
    expect(Array.from({ length: 6 }, (_, index) => limit.take(`2001:db8::${index + 1}`)).filter(Boolean)).toHaveLength(5);
    now += 200;
    expect(Array.from({ length: 5 }, () => limit.take('192.0.2.1')).filter(Boolean)).toHaveLength(2);
    for (let index = 0; index < 1000; index++) limit.take(`10.0.${index >> 8}.${index & 255}`);
    expect(limit.tracked).toBeLessThanOrEqual(100);
  });
});
