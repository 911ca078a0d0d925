/**
 * The direction of the provider seam, enforced: nothing above src/providers knows which host
 * is behind it, and a provider knows nothing of hooks, ACME, serving or the CLI. Only the
 * composition root (src/runtime.ts) and the registry (src/providers/index.ts) may name one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(c|m)?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every relative module a file imports (static, dynamic, re-exports, require), as a path under src/. */
export function importsOf(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((match) => match[1] ?? '');
  return specifiers.filter((specifier) => specifier.startsWith('.')).map((specifier) => relative(SRC, resolve(dirname(file), specifier)).split('\\').join('/'));
}

const CONCRETE = /^providers\/(?!index\.|provider\.)[^/]+\//;
const ABOVE = ['challenge/', 'records/', 'propagation/', 'acme/', 'adapters/', 'agent/', 'cli/', 'serve/'];
const NOT_FROM_PROVIDERS = ['adapters/', 'acme/', 'agent/', 'cli/', 'serve/', 'runtime.', 'index.'];

function violations(): string[] {
  const found: string[] = [];
  // This file names forbidden imports in its own examples.
  for (const file of sourceFiles(SRC).filter((path) => path !== fileURLToPath(import.meta.url))) {
    const from = relative(SRC, file).split('\\').join('/');
    for (const target of importsOf(file, readFileSync(file, 'utf8'))) {
      if (ABOVE.some((prefix) => from.startsWith(prefix)) && (CONCRETE.test(target) || target.startsWith('providers/index.'))) found.push(`${from} imports ${target}`);
      if (from.startsWith('providers/') && NOT_FROM_PROVIDERS.some((prefix) => target.startsWith(prefix))) found.push(`${from} imports ${target}`);
    }
  }
  return found;
}

describe('provider seam', () => {
  it('finds the imports it is meant to police', () => {
    const file = join(SRC, 'cli', 'x.ts');
    expect(importsOf(file, "import { a } from '../providers/cpanel/index.js';\nconst b = await import('../acme/issue.js');\nexport * from './y.js';")).toEqual([
      'providers/cpanel/index.js',
      'acme/issue.js',
      'cli/y.js',
    ]);
  });

  it('nothing above src/providers imports a concrete provider, and no provider imports adapters, acme, cli or serve', () => {
    expect(violations()).toEqual([]);
  });
});
