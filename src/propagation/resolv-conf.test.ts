import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseResolvConf, readResolvConf } from './resolv-conf.js';
import { scratchDir } from '../../test/fixtures/scratch.js';

describe('parseResolvConf', () => {
  it('reads nameserver lines in order, on port 53, skipping everything else', () => {
    const text = [
      '# generated',
      'search example.com',
      'nameserver 192.0.2.53',
      '  nameserver   2001:db8::53  # comment',
      'nameserver fe80::1%eth0',
      'nameserver not-an-ip',
      'options edns0',
      ';nameserver 192.0.2.99',
    ].join('\n');
    expect(parseResolvConf(text)).toEqual([
      { host: '192.0.2.53', port: 53 },
      { host: '2001:db8::53', port: 53 },
      { host: 'fe80::1%eth0', port: 53 },
    ]);
  });
});

describe('readResolvConf', () => {
  it('reads a file, and gives none for a missing one', async () => {
    const dir = await scratchDir('resolv');
    try {
      const path = join(dir, 'resolv.conf');
      await writeFile(path, 'nameserver 127.0.0.53\n');
      expect(await readResolvConf(path)).toEqual([{ host: '127.0.0.53', port: 53 }]);
      expect(await readResolvConf(join(dir, 'missing'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
