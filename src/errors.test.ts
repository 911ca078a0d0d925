import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ConfigError, ERROR_CODES, errorCodeTableMarkdown, MiabDns01Error, type ErrorCode } from './errors.js';

describe('the error-code table', () => {
  it('drives the exit codes', () => {
    for (const [code, info] of Object.entries(ERROR_CODES) as [ErrorCode, (typeof ERROR_CODES)[ErrorCode]][]) {
      const error = new MiabDns01Error(code, 'x');
      expect(error.exitCode, code).toBe(info.exit === 'signal' ? 130 : info.exit);
    }
    expect(new ConfigError('usage', 'x').exitCode).toBe(2);
    expect(new MiabDns01Error('interrupted', 'x', { exitCode: 143 }).exitCode).toBe(143);
  });

  it("is docs/error-codes.md's table, row for row", async () => {
    const page = await readFile(new URL('../docs/error-codes.md', import.meta.url), 'utf8');
    const table = page.split('\n').filter((line) => line.startsWith('|'));
    expect(table.join('\n')).toBe(errorCodeTableMarkdown());
  });

  it('names no file outside the repository', async () => {
    const { readdir } = await import('node:fs/promises');
    const root = new URL('.', import.meta.url);
    const files = (await readdir(root, { recursive: true })).filter((file) => file.endsWith('.ts'));
    for (const file of files) {
      const text = await readFile(new URL(file, root), 'utf8');
      expect(text, file).not.toMatch(/shared\/spec|\.\.\/shared\//);
    }
  });
});
