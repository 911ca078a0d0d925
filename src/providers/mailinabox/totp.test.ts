import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chooseTotpStep, reserveTotpCode, totpCode, totpStep } from './totp.js';
import { scratchDir } from '../../../test/fixtures/scratch.js';

const SECRET = 'JBSWY3DPEHPK3PXPMIABTOTPSECRETQQ';
const NOW = 1_700_000_020_000; // 10 s into a step
const STEP = totpStep(NOW);

let dir: string;
beforeEach(async () => {
  dir = await scratchDir('totp');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('chooseTotpStep (the box accepts previous, current and next; refuses the one it accepted last)', () => {
  it('uses the current code when nothing was spent, or something outside the window', () => {
    expect(chooseTotpStep(SECRET, NOW, undefined)).toBe(STEP);
    for (const spent of [STEP - 5, STEP + 2, STEP + 1_000, 1e15, -1]) expect(chooseTotpStep(SECRET, NOW, spent)).toBe(STEP);
  });

  it('uses the next step when the current code is spent, and the current one when the next is', () => {
    expect(chooseTotpStep(SECRET, NOW, STEP)).toBe(STEP + 1);
    expect(chooseTotpStep(SECRET, NOW, STEP + 1)).toBe(STEP);
    expect(chooseTotpStep(SECRET, NOW, STEP - 1)).toBe(STEP);
  });
});

describe('reserveTotpCode', () => {
  it('never waits: after a code is spent, the next reservation is another valid code at once', async () => {
    const stateFile = join(dir, 'account.totp.json');
    const options = { secret: SECRET, stateFile, now: () => NOW };
    const started = Date.now();
    const first = await reserveTotpCode(options);
    const second = await reserveTotpCode(options);
    const third = await reserveTotpCode(options);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect([first.code, second.code, third.code]).toEqual([totpCode(SECRET, STEP), totpCode(SECRET, STEP + 1), totpCode(SECRET, STEP)]);
    expect([first.skippedSpent, second.skippedSpent, third.skippedSpent]).toEqual([false, true, false]);
    // Recorded before the code is used: a crash after sending still counts it.
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toEqual({ lastStep: STEP });
  });

  it('release (the login never reached the box) leaves the record as it was', async () => {
    const stateFile = join(dir, 'account.totp.json');
    const options = { secret: SECRET, stateFile, now: () => NOW };
    const unsent = await reserveTotpCode(options);
    await unsent.release();
    await expect(readFile(stateFile, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await reserveTotpCode(options)).code).toBe(unsent.code);

    const second = await reserveTotpCode(options);
    expect(second.code).toBe(totpCode(SECRET, STEP + 1));
    await second.release();
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toEqual({ lastStep: STEP });
  });

  it('never stores the secret', async () => {
    const stateFile = join(dir, 'account.totp.json');
    await reserveTotpCode({ secret: SECRET, stateFile, now: () => NOW });
    expect(await readFile(stateFile, 'utf8')).not.toContain(SECRET);
  });
});

describe('80-bit secrets (16 base32 characters, as cPanel and many authenticator apps issue)', () => {
  it('give the RFC 6238 code an independent implementation computes, for both providers', async () => {
    const { currentTotp } = await import('../../../test/emulator/totp.js');
    const { totpAt } = await import('../cpanel/totp.js');
    for (const secret of ['QSARBVKLZHYHLJ3M', 'FZ4ZVGTMFTIOF54T']) {
      expect(totpCode(secret, STEP)).toBe(currentTotp(secret, STEP * 30_000));
      expect(totpAt(secret, STEP)).toBe(currentTotp(secret, STEP * 30_000));
    }
  });
});
