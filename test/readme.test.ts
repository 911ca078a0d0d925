/**
 * The README works as printed: parsed with a Markdown parser (marked), every code fence is
 * closed, every shell block passes `bash -n`, every JavaScript block `node --check`, and every
 * TypeScript block type-checks against the built package as a user imports it
 * (`from 'miab-dns01'`). A block that uses names it does not declare (a fragment) gets them
 * from an HTML comment right above it, invisible on GitHub:
 * `<!-- typecheck: declare const client: import('acme-client').Client; -->`.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lexer, type Token, type Tokens } from 'marked';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const readme = await readFile(join(root, 'README.md'), 'utf8');
const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name: string; version: string };

interface Block {
  readonly lang: string;
  readonly text: string;
  readonly raw: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** Declarations from a `<!-- typecheck: ... -->` comment right above the block. */
  readonly context: string;
}

function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let offset = 0;
  let context = '';
  const walk = (tokens: readonly Token[]): void => {
    for (const token of tokens) {
      if (token.type === 'html') {
        const match = /<!--\s*typecheck:([\s\S]*?)-->/.exec(token.raw);
        context = match?.[1]?.trim() ?? '';
        continue;
      }
      if (token.type === 'code') {
        const code = token as Tokens.Code;
        const at = markdown.indexOf(code.raw, offset);
        offset = at + code.raw.length;
        blocks.push({ lang: code.lang ?? '', text: code.text, raw: code.raw, line: markdown.slice(0, at).split('\n').length, context });
      }
      if (token.type !== 'space') context = '';
      const children = (token as { tokens?: Token[] }).tokens;
      if (children) walk(children);
      const items = (token as { items?: { tokens: Token[] }[] }).items;
      if (items) for (const item of items) walk(item.tokens);
    }
  };
  walk(lexer(markdown));
  return blocks;
}

const blocks = codeBlocks(readme);
const fenced = blocks.filter((block) => /^ {0,3}(`{3,}|~{3,})/.test(block.raw));

function run(file: string, args: readonly string[], input?: string, env?: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = execFile(file, args, { encoding: 'utf8', ...(env ? { env } : {}) }, (error, _stdout, stderr) => {
      resolvePromise({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

describe('README.md', () => {
  it('closes every code fence, and no fence line hides inside a block', () => {
    expect(fenced.length).toBeGreaterThan(10);
    for (const block of fenced) {
      const fence = /^ {0,3}(`{3,}|~{3,})/.exec(block.raw)?.[1] ?? '```';
      expect(block.raw.trimEnd().endsWith(fence), `the fence opened at line ${block.line} is never closed`).toBe(true);
      // A line like "``` Errors are ..." cannot close a fence: the rest of the file would render as code.
      const inner = block.text.split('\n').findIndex((line) => /^ {0,3}(`{3,}|~{3,})/.test(line));
      expect(inner, `line ${block.line + 1 + inner} looks like a fence but is inside the block opened at line ${block.line}`).toBe(-1);
    }
  });

  it('has shell blocks that bash parses', async () => {
    const shell = fenced.filter((block) => ['sh', 'bash', 'shell', 'console'].includes(block.lang));
    expect(shell.length).toBeGreaterThanOrEqual(8);
    for (const block of shell) {
      const result = await run('bash', ['-n'], block.text);
      expect(result, `bash -n on the block at line ${block.line}: ${result.stderr}`).toMatchObject({ code: 0 });
    }
  });

  it('has JavaScript blocks that node parses', async () => {
    for (const block of fenced.filter((candidate) => ['js', 'javascript', 'cjs', 'mjs'].includes(candidate.lang))) {
      const result = await run(process.execPath, ['--check', '--input-type=commonjs'], block.text);
      expect(result, `node --check on the block at line ${block.line}: ${result.stderr}`).toMatchObject({ code: 0 });
    }
  });

  describe('TypeScript blocks', () => {
    const scratch = join(root, '.tmp', `readme-${process.pid}`);
    afterAll(async () => {
      await rm(scratch, { recursive: true, force: true });
    });

    it('type-check against the built package, as a user imports it', async () => {
      const typescript = fenced.filter((block) => ['ts', 'typescript'].includes(block.lang));
      expect(typescript.length).toBeGreaterThanOrEqual(3);
      await mkdir(scratch, { recursive: true });
      const files = new Map<string, Block>();
      for (const block of typescript) {
        const file = join(scratch, `block-line-${block.line}.ts`);
        // The context goes after the block's imports would be wrong for `declare`; before is fine.
        await writeFile(file, `${block.context}\n${block.text}\nexport {};\n`);
        files.set(file, block);
      }
      const program = ts.createProgram([...files.keys()], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        lib: ['lib.es2023.d.ts'],
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')],
        // Our @types/node predates TypeScript 5.9's typed arrays; the README's code is checked.
        skipLibCheck: true,
      });
      const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
        const block = diagnostic.file ? files.get(diagnostic.file.fileName) : undefined;
        const where = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line : 0;
        const contextLines = block ? block.context.split('\n').length : 0;
        return `README line ${block ? block.line + where - contextLines + 1 : '?'}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
      });
      expect(problems).toEqual([]);
    });
  });

  it('quick start: npm ci first, and the test command names every Debian package CI installs for the tests', async () => {
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
    expect(quickStart).toMatch(/^npm ci\b/m);
    const ci = await readFile(join(root, '.ci', 'run'), 'utf8');
    const packages = /packages=\(([^)]*)\)/.exec(ci)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
    expect(packages.length).toBeGreaterThan(5);
    const aptLine = /apt-get install -y ([^\n]*)/.exec(quickStart)?.[1] ?? '';
    // The CI wrapper's own tools (unshare, ip, CA bundle), not the suite's.
    const wrapperOnly = new Set(['iproute2', 'util-linux', 'ca-certificates']);
    for (const name of packages.filter((candidate) => !wrapperOnly.has(candidate))) expect(aptLine.split(/\s+/)).toContain(name);
  });

  it('install section: the commands CI runs, with this version\'s tarball name; no ~/.config that may not exist', () => {
    const install = readme.slice(readme.indexOf('## Install'), readme.indexOf('\n## ', readme.indexOf('## Install') + 1));
    expect(install).toContain(`npm install -g ./${manifest.name}-${manifest.version}.tgz`);
    expect(install).toContain('npm install -g "$(npm pack git+');
    expect(install).toMatch(/^npm install -g \.$/m);
    expect(install).toMatch(/^npm install -g --install-links \.$/m);
    expect(readme).not.toMatch(/install -m 600 \/dev\/null ~\/\.config/);
  });

  it('lego recipe: the sequence interval and the resolvers are in the command itself', () => {
    const lego = fenced.find((block) => block.text.includes('--dns exec'));
    expect(lego?.text).toMatch(/EXEC_SEQUENCE_INTERVAL=\d+/);
    expect(lego?.text).toMatch(/--dns\.resolvers \S+/);
  });

  it('certbot advice greps for what certbot really logs about a failing hook, and names our line as the hook prints it', async () => {
    // certbot 2.x (certbot/display/ops.py, report_executed_command):
    //   "Hook '--manual-auth-hook' for <domain> reported error code <n>"
    //   "Hook '--manual-auth-hook' for <domain> ran with error output:\n <stderr, indented>"
    expect(readme).toContain(`grep -A5 "Hook '--manual-auth-hook'" /var/log/letsencrypt/letsencrypt.log`);
    // Our stderr sits indented under certbot's line: grepping for our prefix alone finds the
    // message without the domain and the exit code, so the README never advises it.
    expect(readme).not.toMatch(/grep[^\n]*miab-dns01 certbot-auth/);
    // Where the README shows our error line, it is the form the auth hook really prints.
    expect(readme).toContain('`miab-dns01 certbot-auth: error [<code>]: ...`');
    const { PATH, HOME } = process.env;
    const hook = await run(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'hook', 'certbot-auth'], undefined, { PATH, HOME });
    expect(hook.code).toBe(2);
    expect(hook.stderr).toMatch(/^miab-dns01 certbot-auth: error \[usage\]: CERTBOT_DOMAIN is not set/);
  });
});
