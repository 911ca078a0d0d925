/**
 * The README and every page of docs/ work as printed: parsed with a Markdown parser (marked),
 * every code fence is closed, every shell block passes `bash -n`, every JavaScript block
 * `node --check`, every JSON block `JSON.parse`, and every TypeScript block type-checks against the built package as a user
 * imports it (`from 'miab-dns01'`). A block that uses names it does not declare (a fragment)
 * gets them from an HTML comment right above it, invisible on GitHub:
 * `<!-- typecheck: declare const client: import('acme-client').Client; -->`.
 * Every relative link reaches a file and heading that exist, every environment variable src/
 * reads is in docs/configuration.md, and the advice that names another tool's behaviour says
 * what that tool really does.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lexer, type Token, type Tokens } from 'marked';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** README.md and every docs/*.md, by path relative to the repository. */
const pageNames = ['README.md', ...(await readdir(join(root, 'docs'))).filter((file) => file.endsWith('.md')).sort().map((file) => `docs/${file}`)];
const pages = new Map<string, string>(await Promise.all(pageNames.map(async (name) => [name, await readFile(join(root, name), 'utf8')] as const)));
const page = (name: string): string => {
  const text = pages.get(name);
  if (text === undefined) throw new Error(`${name} is missing`);
  return text;
};
const readme = page('README.md');
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

const isFenced = (block: Block): boolean => /^ {0,3}(`{3,}|~{3,})/.test(block.raw);
/** Every fenced block of every page, with the page it is on. */
const fenced: (Block & { readonly page: string })[] = [...pages].flatMap(([name, text]) => codeBlocks(text).filter(isFenced).map((block) => ({ ...block, page: name })));
const where = (block: { readonly page: string; readonly line: number }): string => `${block.page} line ${block.line}`;

/** Pages other branches are writing; a link to one may dangle until they are merged. */
const PAGES_WRITTEN_ELSEWHERE = new Set(['docs/serve-rfc2136.md', 'docs/serve-dyndns.md', 'docs/serve-security.md', 'docs/logins.md']);

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const token of lexer(markdown)) {
    if (token.type !== 'heading') continue;
    const base = anchorOf((token as Tokens.Heading).text.replace(/`/g, ''));
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Relative links `[text](target)` outside code, with the page and line they are on. */
function relativeLinks(name: string, markdown: string): { readonly page: string; readonly line: number; readonly target: string }[] {
  const links: { page: string; line: number; target: string }[] = [];
  let inFence = false;
  markdown.split('\n').forEach((text, index) => {
    if (/^ {0,3}(`{3,}|~{3,})/.test(text)) inFence = !inFence;
    if (inFence) return;
    for (const match of text.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1] ?? '';
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ page: name, line: index + 1, target });
    }
  });
  return links;
}

function run(file: string, args: readonly string[], input?: string, env?: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = execFile(file, args, { encoding: 'utf8', ...(env ? { env } : {}) }, (error, _stdout, stderr) => {
      resolvePromise({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

describe('README.md and docs/*.md', () => {
  it('closes every code fence, and no fence line hides inside a block', () => {
    expect(fenced.length).toBeGreaterThan(10);
    for (const block of fenced) {
      const fence = /^ {0,3}(`{3,}|~{3,})/.exec(block.raw)?.[1] ?? '```';
      expect(block.raw.trimEnd().endsWith(fence), `the fence opened at ${where(block)} is never closed`).toBe(true);
      // A line like "``` Errors are ..." cannot close a fence: the rest of the file would render as code.
      const inner = block.text.split('\n').findIndex((line) => /^ {0,3}(`{3,}|~{3,})/.test(line));
      expect(inner, `line ${block.line + 1 + inner} of ${block.page} looks like a fence but is inside the block opened at line ${block.line}`).toBe(-1);
    }
  });

  it('labels every fence, so that a command is never left unchecked by a missing language', () => {
    for (const block of fenced) expect(block.lang, `the block at ${where(block)} has no language (use text for output or a listing)`).not.toBe('');
  });

  it('has shell blocks that bash parses', async () => {
    const shell = fenced.filter((block) => ['sh', 'bash', 'shell', 'console'].includes(block.lang));
    expect(shell.length).toBeGreaterThanOrEqual(8);
    for (const block of shell) {
      const result = await run('bash', ['-n'], block.text);
      expect(result, `bash -n on the block at ${where(block)}: ${result.stderr}`).toMatchObject({ code: 0 });
    }
  });

  it('has JavaScript blocks that node parses', async () => {
    for (const block of fenced.filter((candidate) => ['js', 'javascript', 'cjs', 'mjs'].includes(candidate.lang))) {
      const result = await run(process.execPath, ['--check', '--input-type=commonjs'], block.text);
      expect(result, `node --check on the block at ${where(block)}: ${result.stderr}`).toMatchObject({ code: 0 });
    }
  });

  it('has JSON blocks that parse', () => {
    for (const block of fenced.filter((candidate) => candidate.lang === 'json')) {
      expect(() => JSON.parse(block.text), `JSON.parse on the block at ${where(block)}`).not.toThrow();
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
      const files = new Map<string, (typeof typescript)[number]>();
      for (const block of typescript) {
        const file = join(scratch, `${block.page.replace(/[^a-z0-9]+/gi, '-')}-line-${block.line}.ts`);
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
        // Our @types/node predates TypeScript 5.9's typed arrays; the docs' code is checked.
        skipLibCheck: true,
      });
      const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
        const block = diagnostic.file ? files.get(diagnostic.file.fileName) : undefined;
        const at = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line : 0;
        const contextLines = block ? block.context.split('\n').length : 0;
        return `${block?.page ?? '?'} line ${block ? block.line + at - contextLines + 1 : '?'}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
      });
      expect(problems).toEqual([]);
    });
  });

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const [name, text] of pages) {
      for (const link of relativeLinks(name, text)) {
        const [path = '', fragment] = link.target.split('#');
        const target = path === '' ? name : join(dirname(name), path);
        if (PAGES_WRITTEN_ELSEWHERE.has(target)) continue;
        if (!existsSync(join(root, target))) {
          broken.push(`${name} line ${link.line}: ${link.target} (no file ${target})`);
          continue;
        }
        if (fragment !== undefined && target.endsWith('.md')) {
          const anchors = anchorsOf(pages.get(target) ?? '');
          if (!anchors.has(fragment)) broken.push(`${name} line ${link.line}: ${link.target} (no heading #${fragment} in ${target})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('README: a new user\'s page, at most 300 lines, that links every page of docs/', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
    const linked = new Set(relativeLinks('README.md', readme).map((link) => link.target.split('#')[0]));
    for (const name of pageNames.filter((candidate) => candidate.startsWith('docs/'))) expect([...linked], `README.md does not link ${name}`).toContain(name);
    for (const client of ['certbot', 'lego', 'acme-sh', 'dehydrated', 'issue', 'library', 'greenlock', 'serve', 'serve-rfc2136', 'serve-dyndns']) {
      expect(readme, `one line per client: docs/${client}.md`).toMatch(new RegExp(`^- \\[[^\\]]+\\]\\(docs/${client}\\.md\\)`, 'm'));
    }
  });

  it('docs/configuration.md names every environment variable src/ and the hooks read', async () => {
    const names = new Set<string>();
    const sources = (await readdir(join(root, 'src'), { recursive: true })).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));
    expect(sources.length).toBeGreaterThan(20);
    for (const file of sources) {
      const text = await readFile(join(root, 'src', file), 'utf8');
      // Reads: env.NAME, env?.NAME, env['NAME'] (process.env, options.env, context.env alike).
      for (const match of text.matchAll(/\benv\??\.([A-Za-z_][A-Za-z0-9_]*)|\benv\[['"]([^'"]+)['"]\]/g)) {
        const name = match[1] ?? match[2] ?? '';
        if (/^[A-Z]/.test(name)) names.add(name);
      }
      // Settings tables and aliases: a quoted name with one of our or our peers' prefixes.
      for (const match of text.matchAll(/['"`]((?:MIAB|CPANEL|cPanel|MAILINABOX|CERTBOT|EXEC)_[A-Za-z0-9_]+)['"`]/g)) names.add(match[1] ?? '');
    }
    // The shell entry points: the hooks and the one launcher they all run.
    for (const script of [...(await readdir(join(root, 'hooks'))).map((hook) => join('hooks', hook)), join('bin', 'miab-dns01')]) {
      const text = await readFile(join(root, script), 'utf8');
      for (const match of text.matchAll(/\$\{?(MIAB_[A-Za-z0-9_]+)/g)) names.add(match[1] ?? '');
    }
    // The ones this test must find, or it finds nothing.
    for (const known of ['MIAB_URL', 'CPANEL_TOKEN', 'MIAB_DNS01_SERVE_URL', 'MIAB_DNS01_NODE', 'XDG_STATE_HOME']) expect([...names]).toContain(known);
    const configuration = page('docs/configuration.md');
    const missing = [...names].sort().filter((name) => !configuration.includes(`\`${name}\``) && !configuration.includes(`\`${name}=`));
    expect(missing, 'variables read by src/ or hooks/ that docs/configuration.md does not name').toEqual([]);
  });

  it('quick start: npm ci first, and the test command names every Debian package CI installs for the tests', async () => {
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
    expect(quickStart).toMatch(/^npm ci\b/m);
    expect(quickStart).toMatch(/^npm run demo\b/m);
    expect(quickStart).toMatch(/^npm test\b/m);
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
    for (const [name, text] of pages) expect(text, name).not.toMatch(/install -m 600 \/dev\/null ~\/\.config/);
  });

  it('lego recipe (docs/lego.md): the sequence interval and the resolvers are in the command itself', () => {
    const lego = fenced.find((block) => block.page === 'docs/lego.md' && block.text.includes('--dns exec'));
    expect(lego?.text).toMatch(/EXEC_SEQUENCE_INTERVAL=\d+/);
    expect(lego?.text).toMatch(/--dns\.resolvers \S+/);
  });

  it('certbot advice greps for what certbot really logs about a failing hook, and names our line as the hook prints it', async () => {
    // certbot 2.x (certbot/display/ops.py, report_executed_command):
    //   "Hook '--manual-auth-hook' for <domain> reported error code <n>"
    //   "Hook '--manual-auth-hook' for <domain> ran with error output:\n <stderr, indented>"
    expect(page('docs/troubleshooting.md')).toContain(`grep -A5 "Hook '--manual-auth-hook'" /var/log/letsencrypt/letsencrypt.log`);
    // Our stderr sits indented under certbot's line: grepping for our prefix alone finds the
    // message without the domain and the exit code, so no page ever advises it.
    for (const [name, text] of pages) expect(text, name).not.toMatch(/grep[^\n]*miab-dns01 certbot-auth/);
    // Where a page shows our error line, it is the form the auth hook really prints.
    expect(page('docs/certbot.md')).toContain('`miab-dns01 certbot-auth: error [<code>]: ...`');
    expect(page('docs/troubleshooting.md')).toContain('`miab-dns01 certbot-auth: error [<code>]: ...`');
    const { PATH, HOME } = process.env;
    const hook = await run(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'hook', 'certbot-auth'], undefined, { PATH, HOME });
    expect(hook.code).toBe(2);
    expect(hook.stderr).toMatch(/^miab-dns01 certbot-auth: error \[usage\]: CERTBOT_DOMAIN is not set/);
  });
});
