import { describe, expect, it } from 'vitest';
import { certbotHook, isDeferred } from './policy.js';

describe('certbot run policy', () => {
  it('knows a certbot call by its exact command line', () => {
    expect(certbotHook(['hook', 'certbot-auth'])).toBe('certbot-auth');
    expect(certbotHook(['hook', 'certbot-cleanup'])).toBe('certbot-cleanup');
    expect(certbotHook(['hook', 'lego-exec'])).toBeUndefined();
    expect(certbotHook(['hook', 'certbot-auth', 'extra'])).toBeUndefined();
    expect(certbotHook(['--debug', 'hook', 'certbot-auth'])).toBeUndefined();
    expect(certbotHook(['present', 'certbot-auth'])).toBeUndefined();
  });

  it('queues every call but the last, never while debugging, and no clean-up while a failure is held', () => {
    const more = { CERTBOT_REMAINING_CHALLENGES: '2' };
    const last = { CERTBOT_REMAINING_CHALLENGES: '0' };
    const calm = { failureHeld: false, debug: false };
    expect(isDeferred('certbot-auth', more, calm)).toBe(true);
    expect(isDeferred('certbot-cleanup', more, calm)).toBe(true);
    expect(isDeferred('certbot-auth', last, calm)).toBe(false);
    expect(isDeferred('certbot-auth', {}, calm)).toBe(false);
    expect(isDeferred('certbot-auth', more, { failureHeld: false, debug: true })).toBe(false);
    expect(isDeferred('certbot-cleanup', more, { failureHeld: true, debug: false })).toBe(false);
    expect(isDeferred('certbot-auth', more, { failureHeld: true, debug: false })).toBe(true);
  });
});
