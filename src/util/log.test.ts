import { describe, expect, it } from 'vitest';
import { stderrLogger, summaryLogger } from './log.js';

function capture(): { lines: string[]; write: (text: string) => void } {
  const lines: string[] = [];
  return { lines, write: (text) => lines.push(text) };
}

describe('stderrLogger', () => {
  it('prints errors only when quiet (nothing of info and warn), everything with debug', () => {
    const out = capture();
    const quiet = stderrLogger({ quiet: true, write: out.write });
    quiet.info('a');
    quiet.warn('b');
    quiet.debug('c');
    expect(out.lines).toEqual([]);
    stderrLogger({ quiet: true, debug: true, write: out.write }).info('d');
    expect(out.lines).toEqual(['miab-dns01: d\n']);
  });
});

describe('summaryLogger', () => {
  it('holds progress back and prints one summary line; warnings at once', () => {
    const out = capture();
    const log = summaryLogger({ prefix: 'miab-dns01 certbot-auth', write: out.write });
    log.info('wrote TXT _acme-challenge.a.test');
    log.warn('slow box');
    log.info('all 2 nameservers serve the record');
    expect(out.lines).toEqual(['miab-dns01 certbot-auth: warning: slow box\n']);
    log.summarize();
    log.summarize();
    expect(out.lines).toEqual([
      'miab-dns01 certbot-auth: warning: slow box\n',
      'miab-dns01 certbot-auth: all 2 nameservers serve the record (MIAB_DEBUG=1 shows every step)\n',
    ]);
  });

  it('shows every line as it happens when debugging', () => {
    const out = capture();
    const log = summaryLogger({ debug: true, write: out.write });
    log.info('one');
    log.info('two');
    log.summarize();
    expect(out.lines).toEqual(['miab-dns01: one\n', 'miab-dns01: two\n']);
  });
});
