/** acme-dns JSON keys are matched as Go does: without regard to case. */
import { describe, expect, it } from 'vitest';
import { stringField } from './http.js';

describe('JSON keys', () => {
  it('match without regard to case, strings only', () => {
    expect(stringField({ SubDomain: 'x' }, 'subdomain')).toBe('x');
    expect(stringField({ TXT: 'y' }, 'txt')).toBe('y');
    expect(stringField({ txt: 5 }, 'txt')).toBeUndefined();
  });
});
