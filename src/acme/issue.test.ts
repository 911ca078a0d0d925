import { describe, expect, it } from 'vitest';
import { progressFromAcmeClient } from './issue.js';

describe('progress lines from acme-client', () => {
  it('a wildcard + apex order says "answering" once per name, not once per authorization', () => {
    const lines: string[] = [];
    const progress = progressFromAcmeClient({ info: (line) => void lines.push(line), warn: () => undefined, debug: () => undefined });
    progress('[auto] Placed certificate order successfully, received 2 identifiers');
    progress('[auto] [example.test] Completing challenge');
    progress('[auto] [example.test] Completing challenge');
    progress('[auto] [other.test] Completing challenge');
    expect(lines.filter((line) => line.startsWith('answering'))).toEqual(['answering the challenge for example.test', 'answering the challenge for other.test']);
  });
});
