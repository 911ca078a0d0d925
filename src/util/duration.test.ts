import { describe, expect, it } from 'vitest';
import { parsePropagationSettings } from '../propagation/settings.js';
import { parseDuration } from '../cli/args.js';
import { parseDurationMs } from './duration.js';

describe('one duration syntax for flags and environment', () => {
  it('reads s, m, h, d everywhere', () => {
    for (const [text, ms] of [['90s', 90_000], ['30m', 1_800_000], ['2h', 7_200_000], ['1d', 86_400_000], ['1.5m', 90_000]] as const) {
      expect(parseDurationMs(text)).toBe(ms);
      expect(parseDuration(text, '--older-than')).toBe(ms);
      expect(parsePropagationSettings({ MIAB_PROPAGATION_TIMEOUT: text }).timeoutMs).toBe(ms);
    }
  });

  it('reads a bare number only where a unit is documented (seconds for MIAB_PROPAGATION_TIMEOUT)', () => {
    expect(parseDurationMs('300')).toBeUndefined();
    expect(parseDurationMs('300', 's')).toBe(300_000);
    expect(parsePropagationSettings({ MIAB_PROPAGATION_TIMEOUT: '300' }).timeoutMs).toBe(300_000);
    expect(parsePropagationSettings({ MIAB_PROPAGATION_WAIT: '2.5' }).fixedWaitMs).toBe(2500);
  });

  it('rejects the same malformed forms everywhere', () => {
    for (const text of ['1w', '-1s', 'abc', '1 week', '5ms']) {
      expect(parseDurationMs(text, 's'), text).toBeUndefined();
      expect(() => parseDuration(text, '--older-than'), text).toThrow(/takes a duration/);
      expect(() => parsePropagationSettings({ MIAB_PROPAGATION_TIMEOUT: text }), text).toThrow(/MIAB_PROPAGATION_TIMEOUT/);
    }
  });
});
