/**
 * The package as a new user gets it: `npm pack` from a clean copy of the repository (no dist/,
 * no node_modules/), then `npm install -g` from the tarball, the folder and a git URL into a
 * temporary prefix, each giving a working `miab-dns01` and hooks that run through a symlink; and
 * the library imported from a separate ES-module project that type-checks with `tsc --strict`.
 *
 * No network: npm talks to a registry on loopback that serves the packages of our lockfile from
 * the npm cache `npm ci` filled (npm 11 wants full registry metadata for a fresh install, which
 * `npm ci` never downloads, so the cache alone cannot serve `npm install -g --offline`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, link, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDir } from './fixtures/scratch.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const tarballName = `${manifest.name}-${manifest.version}.tgz`;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

const RUN_TIMEOUT_MS = 300_000;

/**
 * Process groups still running. Each command runs in a group of its own, so that a timed-out
 * test (npm keeps building) and the file's afterAll can stop npm with everything it started
 * before the sandbox is removed: otherwise a late write lands in a removed directory's place.
 */
const running = new Map<number, Promise<void>>();

function stopGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolvePromise) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const pid = child.pid;
    const timer = setTimeout(() => pid !== undefined && stopGroup(pid), RUN_TIMEOUT_MS);
    const closed = new Promise<void>((resolveClosed) => {
      let settled = false;
      const settle = (code: number): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (pid !== undefined) running.delete(pid);
        resolveClosed();
        resolvePromise({ code, stdout, stderr });
      };
      child.once('error', (error) => {
        stderr += String(error);
        settle(1);
      });
      child.once('close', (code) => settle(code ?? 1));
    });
    if (pid !== undefined) running.set(pid, closed);
  });
}

function describeRun(result: Run): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

async function mustRun(file: string, args: readonly string[], options: RunOptions = {}): Promise<Run> {
  const result = await run(file, args, options);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${describeRun(result)}`);
  return result;
}

// --- a registry on loopback, serving the lockfile's packages from npm's cache -----------------

interface LockEntry {
  readonly version?: string;
  readonly integrity?: string;
  readonly link?: boolean;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, unknown>;
  readonly bin?: Record<string, string>;
  readonly engines?: Record<string, string>;
  readonly os?: string[];
  readonly cpu?: string[];
}

async function npmCacheDir(): Promise<string> {
  return (await mustRun('npm', ['config', 'get', 'cache'])).stdout.trim();
}

/** Where cacache keeps the content with this integrity (sha512 only: what npm records). */
function cachedContentPath(cache: string, integrity: string): string | undefined {
  const match = /^sha512-([A-Za-z0-9+/=]+)/.exec(integrity);
  if (match?.[1] === undefined) return undefined;
  const hex = Buffer.from(match[1], 'base64').toString('hex');
  return join(cache, '_cacache', 'content-v2', 'sha512', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
}

/**
 * Seeds the sandbox's npm cache with the content of every package the registry serves, linked
 * (or copied across filesystems) from npm's own cache: npm reads a tarball whose integrity it
 * knows from its cache before asking the registry, so the installs below never download or
 * re-hash what `npm ci` already fetched, and the sandbox cache still starts with no index (no
 * metadata, no settings) of the user's.
 */
async function seedCache(contents: Iterable<string>, cache: string, sandboxCache: string): Promise<void> {
  const prefix = join(cache, '_cacache');
  for (const content of new Set(contents)) {
    const target = join(sandboxCache, '_cacache', content.slice(prefix.length + 1));
    await mkdir(dirname(target), { recursive: true });
    await link(content, target).catch(() => copyFile(content, target));
  }
}

async function startLockfileRegistry(lockfile: string, cache: string): Promise<{ url: string; server: Server; missing: string[]; contents: string[] }> {
  const lock = JSON.parse(await readFile(lockfile, 'utf8')) as { packages: Record<string, LockEntry> };
  const packuments = new Map<string, { versions: Record<string, unknown>; latest: string }>();
  const tarballs = new Map<string, string>();
  const missing: string[] = [];
  let base = '';
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.link === true || entry.version === undefined || entry.integrity === undefined) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const file = `${name.split('/').pop() ?? name}-${entry.version}.tgz`;
    const content = cachedContentPath(cache, entry.integrity);
    if (content === undefined || !existsSync(content)) {
      // Optional platform packages (other CPUs) are never downloaded; npm skips them too.
      missing.push(`${name}@${entry.version}`);
    } else {
      tarballs.set(`/${name}/-/${file}`, content);
    }
    const packument = packuments.get(name) ?? { versions: {}, latest: entry.version };
    packument.versions[entry.version] = {
      name,
      version: entry.version,
      dependencies: entry.dependencies,
      optionalDependencies: entry.optionalDependencies,
      peerDependencies: entry.peerDependencies,
      peerDependenciesMeta: entry.peerDependenciesMeta,
      bin: entry.bin,
      engines: entry.engines,
      os: entry.os,
      cpu: entry.cpu,
      get dist() {
        return { tarball: `${base}/${name}/-/${file}`, integrity: entry.integrity };
      },
    };
    packuments.set(name, packument);
  }
  const server = createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0] ?? '/');
    const tarball = tarballs.get(path);
    if (tarball !== undefined) {
      readFile(tarball).then(
        (body) => response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body),
        () => response.writeHead(404).end(),
      );
      return;
    }
    const packument = packuments.get(path.slice(1));
    if (packument === undefined) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const name = path.slice(1);
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ name, 'dist-tags': { latest: packument.latest }, versions: packument.versions }));
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: `${base}/`, server, missing, contents: [...tarballs.values()] };
}

// --- fixture ----------------------------------------------------------------------------------

let dir: string;
let registry: Server | undefined;
/** A copy of the repository as a fresh clone has it: tracked files only, a git repository. */
let checkout: string;
let tarball: string;
let npmEnv: NodeJS.ProcessEnv;
/** Lockfile packages npm's cache lacks (other platforms' optional binaries, normally). */
let notInCache: string[] = [];

/** Runs npm with the sandbox's registry and cache, and a global prefix of its own. */
function npm(args: readonly string[], options: { prefix?: string; cwd?: string } = {}): Promise<Run> {
  return run('npm', [...args, ...(options.prefix === undefined ? [] : ['--prefix', options.prefix])], { cwd: options.cwd ?? dir, env: npmEnv });
}

async function mustNpm(args: readonly string[], options: { prefix?: string; cwd?: string } = {}): Promise<Run> {
  const result = await npm(args, options);
  if (result.code !== 0) {
    const missing = notInCache.length === 0 ? '' : `\nnot in npm's cache (run npm ci, which fills it): ${notInCache.join(', ')}`;
    throw new Error(`npm ${args.join(' ')} failed: ${describeRun(result)}${missing}\n--- npm logs\n${await npmLogTails()}`);
  }
  return result;
}

/** The end of every npm debug log of the sandbox (a git dependency's preparation logs apart). */
async function npmLogTails(): Promise<string> {
  const logs = join(dir, 'npm-cache', '_logs');
  if (!existsSync(logs)) return '(none)';
  const tails: string[] = [];
  for (const file of (await readdir(logs)).sort()) {
    const lines = (await readFile(join(logs, file), 'utf8')).split('\n');
    tails.push(`${file}:\n${lines.filter((line) => /error|warn|verbose (stack|exit)/.test(line)).slice(-30).join('\n')}`);
  }
  return tails.join('\n');
}

beforeAll(async () => {
  dir = await scratchDir('packaging');
  const cache = await npmCacheDir();
  const started = await startLockfileRegistry(join(root, 'package-lock.json'), cache);
  registry = started.server;
  notInCache = started.missing;
  npmEnv = {
    PATH: process.env.PATH,
    HOME: join(dir, 'home'),
    npm_config_registry: started.url,
    npm_config_cache: join(dir, 'npm-cache'),
    npm_config_userconfig: join(dir, 'npmrc'),
    npm_config_globalconfig: join(dir, 'npmrc-global'),
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_loglevel: 'warn',
  };
  await mkdir(join(dir, 'home'));
  await seedCache(started.contents, cache, join(dir, 'npm-cache'));

  checkout = join(dir, 'checkout');
  const listed = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root });
  if (listed.code === 0) {
    for (const file of listed.stdout.split('\0').filter((name) => name !== '')) {
      if (!existsSync(join(root, file))) continue; // deleted in the working tree, not yet committed
      await mkdir(dirname(join(checkout, file)), { recursive: true });
      await cp(join(root, file), join(checkout, file), { preserveTimestamps: true });
    }
  } else {
    // Not a git checkout (a source tarball): everything but what a build or install adds.
    const generated = new Set(['node_modules', 'dist', '.git', '.tmp']);
    await cp(root, checkout, { recursive: true, filter: (source) => !generated.has(source.slice(root.length + 1).split('/')[0] ?? '') });
  }
  const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.test', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.test', GIT_CONFIG_NOSYSTEM: '1', HOME: join(dir, 'home') };
  await mustRun('git', ['init', '--quiet', '--initial-branch=main'], { cwd: checkout, env: gitEnv });
  await mustRun('git', ['add', '--all'], { cwd: checkout, env: gitEnv });
  await mustRun('git', ['commit', '--quiet', '--message', 'snapshot'], { cwd: checkout, env: gitEnv });
}, 300_000);

afterAll(async () => {
  for (const pid of running.keys()) stopGroup(pid);
  await Promise.all(running.values());
  await new Promise<void>((resolveClose) => (registry === undefined ? resolveClose() : registry.close(() => resolveClose())));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function expectWorkingInstall(prefix: string): Promise<void> {
  const bin = join(prefix, 'bin', 'miab-dns01');
  const version = await run(bin, ['--version'], { env: { PATH: process.env.PATH } });
  expect(version, describeRun(version)).toMatchObject({ code: 0 });
  expect(version.stdout.trim()).toContain(manifest.version);

  // Hooks run through a symlink placed anywhere, as certbot / lego / dehydrated users do.
  const hooks = join(prefix, 'lib', 'node_modules', manifest.name, 'hooks');
  const links = await mkdtemp(join(dir, 'links-'));
  await symlink(join(hooks, 'lego-exec'), join(links, 'lego-exec'));
  await symlink(join(hooks, 'dehydrated-hook'), join(links, 'dehydrated-hook'));
  const env = { PATH: process.env.PATH, HOME: join(dir, 'home') };
  const lego = await run(join(links, 'lego-exec'), ['timeout'], { env });
  expect(lego, describeRun(lego)).toMatchObject({ code: 0 });
  const dehydrated = await run(join(links, 'dehydrated-hook'), ['this_hookscript_is_broken__dehydrated_is_working_fine__please_ignore_unknown_hooks_in_your_script'], { env });
  expect(dehydrated, describeRun(dehydrated)).toMatchObject({ code: 0 });
}

describe('npm pack from a clean checkout', () => {
  it('builds dist/ and ships the docs the README links, no tests, no source maps without their sources, the hooks executable', async () => {
    // As a clone after `npm ci`: dependencies present, dist/ not built yet.
    expect(existsSync(join(checkout, 'dist'))).toBe(false);
    await symlink(join(root, 'node_modules'), join(checkout, 'node_modules'));
    const packed = await mustNpm(['pack', '--json', '--pack-destination', dir], { cwd: checkout });
    tarball = join(dir, tarballName);
    const [report] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ files: { path: string; mode: number }[] }];
    const files = report.files.map((file) => file.path);
    for (const wanted of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/adapters/greenlock/index.js', 'dist/adapters/greenlock/require.cjs', 'dist/records/conformance.js', 'dist/records/conformance.d.ts', 'LICENSE', 'README.md', 'docs/configuration.md', 'docs/error-codes.md', 'package.json']) {
      expect(files).toContain(wanted);
    }
    for (const hook of ['certbot-auth', 'certbot-cleanup', 'lego-exec', 'dehydrated-hook', 'dns_miab_dns01.sh']) {
      const entry = report.files.find((file) => file.path === `hooks/${hook}`);
      expect(entry?.mode, hook).toBeDefined();
      expect((entry?.mode ?? 0) & 0o111, hook).toBe(0o111);
    }
    expect(files.filter((file) => /\.test\.|(^|\/)test\//.test(file))).toEqual([]);
    expect(files.filter((file) => /^(src|bench)\//.test(file))).toEqual([]);
    for (const map of files.filter((file) => file.endsWith('.map'))) {
      const sources = (JSON.parse(await readFile(join(checkout, map), 'utf8')) as { sources: string[] }).sources;
      for (const source of sources) expect(files, `${map} names ${source}`).toContain(join(dirname(map), source));
    }
  });
});

/**
 * Its own copy of the checkout (as the pack left it: built, node_modules linked), for an install
 * that runs the package's prepare script in the folder: the installs below run at once, and two
 * builds in one folder would remove each other's dist/.
 */
async function checkoutCopy(name: string): Promise<string> {
  const copy = join(dir, name);
  await cp(checkout, copy, { recursive: true, verbatimSymlinks: true });
  return copy;
}

// The installs and the consumer project are independent of each other: they run at once (npm
// and tsc wait on the disk and on each other's processes much of the time), sharing the
// sandbox's npm cache, each with its own prefix or folder.
describe.concurrent('installs', { timeout: 300_000 }, () => {
  describe('npm install -g', () => {
    it('from the tarball', async () => {
      expect(tarball).toBeDefined();
      const prefix = join(dir, 'prefix-tarball');
      await mustNpm(['install', '--global', tarball], { prefix });
      await expectWorkingInstall(prefix);
    });

    it('from the folder (a checkout after npm ci: npm links it)', async () => {
      const prefix = join(dir, 'prefix-folder');
      await mustNpm(['install', '--global', await checkoutCopy('checkout-linked')], { prefix });
      expect((await stat(join(prefix, 'lib', 'node_modules', manifest.name))).isDirectory()).toBe(true);
      await expectWorkingInstall(prefix);
    });

    it('from the folder with --install-links (a copy, not a link)', async () => {
      const prefix = join(dir, 'prefix-folder-copy');
      await mustNpm(['install', '--global', '--install-links', await checkoutCopy('checkout-copied')], { prefix });
      await expectWorkingInstall(prefix);
    });

    it('from a git URL: npm pack it, then install the tarball', async () => {
      // `npm install -g git+URL` cannot build a package with a prepare script: npm exports
      // --global to the nested `npm install` that should fetch the build tools, so the clone gets
      // no devDependencies (with --install-links the build fails; without it npm links a deleted
      // temp clone, npm/cli#4148). `npm pack` of the URL runs the build as a local install.
      const packDir = await mkdtemp(join(dir, 'git-pack-'));
      const packed = await mustNpm(['pack', `git+file://${checkout}`], { cwd: packDir });
      const file = packed.stdout.trim().split('\n').pop() ?? '';
      expect(file).toBe(tarballName);
      const prefix = join(dir, 'prefix-git');
      await mustNpm(['install', '--global', join(packDir, file)], { prefix });
      await expectWorkingInstall(prefix);
    });

    it('plain `npm install -g git+URL` is the npm trap the README\'s Install section warns about', async () => {
      const prefix = join(dir, 'prefix-git-trap');
      const result = await npm(['install', '--global', `git+file://${checkout}`], { prefix });
      const works = result.code === 0 && (await run(join(prefix, 'bin', 'miab-dns01'), ['--version'])).code === 0;
      // If a future npm fixes this, this fails: then the README may print the plain command.
      expect(works, describeRun(result)).toBe(false);
    });
  });

  describe('the library from a separate project', () => {
    it('type-checks with tsc --strict, imports as an ES module and requires the Greenlock plugin', async () => {
      expect(tarball).toBeDefined();
      const project = join(dir, 'consumer');
      await mkdir(project);
      await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
      await mustNpm(['install', tarball], { cwd: project });
      await writeFile(
        join(project, 'main.ts'),
        [
          "import { issueCertificate, createDns01Challenge, openRuntime, MiabDns01Error, type Logger, type IssueCertificateOptions } from 'miab-dns01';",
          "import { create, type GreenlockPluginOptions } from 'miab-dns01/greenlock';",
          "import { recordStoreConformance } from 'miab-dns01/conformance';",
          "const log: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };",
          "const options: GreenlockPluginOptions = { env: {}, url: 'https://box.example.test/admin' };",
          'const plugin = create(options);',
          'const delay: number = plugin.propagationDelay;',
          // Types must resolve, not fall back to any: each of these must be an error (never run).
          'export function typeErrors(): void {',
          '  // @ts-expect-error propagationDelay is a number',
          '  const wrongDelay: string = plugin.propagationDelay;',
          '  // @ts-expect-error create() takes an options object',
          "  create('not options');",
          '  // @ts-expect-error the conformance suite needs a store to open',
          '  recordStoreConformance({ test: () => undefined });',
          '  // @ts-expect-error issueCertificate needs domains',
          '  void issueCertificate({});',
          '  void wrongDelay;',
          '}',
          "const issue: (options: IssueCertificateOptions) => Promise<unknown> = issueCertificate;",
          'export const used = [log, delay, issue, createDns01Challenge, openRuntime, MiabDns01Error, recordStoreConformance];',
          "console.log(JSON.stringify({ esm: Object.keys(plugin).sort(), error: new MiabDns01Error('usage', 'x').code }));",
          '',
        ].join('\n'),
      );
      await writeFile(
        join(project, 'greenlock.cjs'),
        "const plugin = require('miab-dns01/greenlock').create({ env: {} });\nplugin.init({}).then((result) => console.log(JSON.stringify({ cjs: Object.keys(plugin).sort(), init: result })));\n",
      );
      // A consumer without @types/node (a browser-minded or Deno-minded project, or one that just
      // never installed it): our declarations must not need it, so no internal type (undici's
      // Dispatcher, Buffer, node: modules) may be reachable from the exported ones. No
      // skipLibCheck: an error inside our .d.ts files, or one they pull in, fails here.
      expect(existsSync(join(project, 'node_modules', '@types', 'node'))).toBe(false);
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      const checked = await run(process.execPath, [tsc, '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--outDir', join(project, 'out'), join(project, 'main.ts')], { cwd: project });
      expect(checked, describeRun(checked)).toMatchObject({ code: 0 });
      const esm = await run(process.execPath, [join(project, 'out', 'main.js')], { cwd: project });
      expect(esm, describeRun(esm)).toMatchObject({ code: 0 });
      const methods = ['get', 'init', 'propagationDelay', 'remove', 'set', 'zones'];
      expect(JSON.parse(esm.stdout)).toEqual({ esm: methods, error: 'usage' });
      const cjs = await run(process.execPath, [join(project, 'greenlock.cjs')], { cwd: project });
      expect(cjs, describeRun(cjs)).toMatchObject({ code: 0 });
      expect(JSON.parse(cjs.stdout)).toEqual({ cjs: methods, init: null });
    });
  });

});

describe('hooks without node on the PATH', () => {
  async function pathWithoutNode(): Promise<string> {
    const bin = await mkdtemp(join(dir, 'bin-'));
    // What the hooks need besides node; /bin and /usr/bin hold node on most systems.
    for (const tool of ['sh', 'dirname', 'readlink']) {
      const found = (await mustRun('sh', ['-c', `command -v ${tool}`])).stdout.trim();
      await symlink(found, join(bin, tool));
    }
    return bin;
  }

  it.each(['certbot-auth', 'certbot-cleanup', 'lego-exec', 'dehydrated-hook'])('%s says how to fix it and exits 2, not 127', async (hook) => {
    const path = await pathWithoutNode();
    const result = await run(join(root, 'hooks', hook), ['timeout'], { env: { PATH: path } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${hook}: node is not on the PATH`);
    expect(result.stderr).toContain('install Node.js 20.18 or later, or set MIAB_DNS01_NODE');
    expect(result.stderr).not.toMatch(/not found/);
  });

  it('MIAB_DNS01_NODE names the node binary to use', async () => {
    const path = await pathWithoutNode();
    const result = await run(join(root, 'hooks', 'lego-exec'), ['timeout'], { env: { PATH: path, MIAB_DNS01_NODE: process.execPath } });
    expect(result, describeRun(result)).toMatchObject({ code: 0 });
    const wrong = await run(join(root, 'hooks', 'lego-exec'), ['timeout'], { env: { PATH: path, MIAB_DNS01_NODE: join(dir, 'no-such-node') } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('MIAB_DNS01_NODE=');
    expect(wrong.stderr).toContain('is not an executable');
  });

  it('a copied hook (no package beside it) uses MIAB_DNS01_NODE for miab-dns01 on the PATH too', async () => {
    const path = await pathWithoutNode();
    const copies = await mkdtemp(join(dir, 'copies-'));
    await cp(join(root, 'hooks', 'lego-exec'), join(copies, 'lego-exec'));
    await chmod(join(copies, 'lego-exec'), 0o755);
    // miab-dns01 on the PATH as npm installs it (the tarball install above).
    await symlink(join(dir, 'prefix-tarball', 'bin', 'miab-dns01'), join(path, 'miab-dns01'));
    const result = await run(join(copies, 'lego-exec'), ['timeout'], { env: { PATH: path, MIAB_DNS01_NODE: process.execPath } });
    expect(result, describeRun(result)).toMatchObject({ code: 0 });
  });
});
