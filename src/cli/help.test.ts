import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GLOBAL_OPTIONS } from './args.js';
import { bashCompletion, commandHelp, mainHelp, manPage, zshCompletion } from './help.js';
import { COMMANDS } from './table.js';

const listed = COMMANDS.filter((command) => !command.hidden);

describe('help, completion and man page come from the command table', () => {
  it('lists every command with its summary, and every option in its own help', () => {
    const main = mainHelp();
    for (const command of listed) {
      for (const line of command.usage) expect(main).toContain(`  miab-dns01 ${line}\n`);
      expect(main).toContain(`      ${command.summary}\n`);
      const help = commandHelp(command);
      expect(help.startsWith(`Usage: miab-dns01 ${command.usage[0] ?? ''}`), command.name).toBe(true);
      for (const option of [...command.options, ...GLOBAL_OPTIONS]) expect(help, `${command.name} --${option.name}`).toContain(`--${option.name}`);
    }
  });

  it('completes every command and every option of each command, in bash and zsh', () => {
    const bash = bashCompletion();
    const zsh = zshCompletion();
    for (const command of listed) {
      expect(bash).toMatch(new RegExp(`words="[^"]*\\b${command.name}\\b`));
      expect(zsh).toContain(`'${command.name}:`);
      const line = bash.split('\n').find((text) => text.trimStart().startsWith(`${command.name}) opts=`)) ?? '';
      for (const option of [...command.options.filter((entry) => !entry.hidden), ...GLOBAL_OPTIONS]) {
        expect(line, `${command.name} --${option.name}`).toContain(`--${option.name}`);
      }
    }
    expect(bash).toContain('complete -F _miab_dns01 miab-dns01');
  });

  it('is a bash script bash can parse, and offers what a user types', () => {
    execFileSync('bash', ['-n'], { input: bashCompletion() });
    const complete = (words: string[]): string[] => {
      const script = `${bashCompletion()}\nCOMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _miab_dns01; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean);
    };
    expect(complete(['miab-dns01', 'cl'])).toEqual(['cleanup', 'clients']);
    expect(complete(['miab-dns01', 'cle'])).toEqual(['cleanup']);
    expect(complete(['miab-dns01', '--url', 'x', 'iss'])).toEqual(['issue']);
    expect(complete(['miab-dns01', 'issue', '--con'])).toEqual(expect.arrayContaining(['--contact', '--config']));
    expect(complete(['miab-dns01', 'cleanup', '--st'])).toEqual(['--stale', '--state-dir']);
    expect(complete(['miab-dns01', 'completion', ''])).toEqual(['bash', 'zsh']);
  });

  it('is a zsh script zsh can parse', () => {
    try {
      execFileSync('zsh', ['-c', 'true']);
    } catch {
      throw new Error('zsh is not installed; install it: apt-get install -y zsh');
    }
    execFileSync('zsh', ['-n'], { input: zshCompletion() });
    expect(zshCompletion().startsWith('#compdef miab-dns01\n')).toBe(true);
  });

  it('renders a man page with every command', () => {
    const page = manPage('1.2.3');
    expect(page).toMatch(/^\.TH MIAB-DNS01 1 "" "miab-dns01 1\.2\.3"/);
    for (const command of listed) expect(page).toContain(`.B ${command.name}`);
  });
});

describe('provider selection in help', () => {
  it('offers --provider everywhere and documents MIAB_DNS01_PROVIDER and the cPanel settings', () => {
    expect(GLOBAL_OPTIONS.find((option) => option.name === 'provider')).toMatchObject({ takesValue: true, setting: 'MIAB_DNS01_PROVIDER' });
    const main = mainHelp();
    expect(main).toMatch(/--provider <name> +DNS host: mailinabox \(default\), cpanel, or serve/);
    expect(main).toMatch(/MIAB_DNS01_PROVIDER +mailinabox \(default\), cpanel, or serve/);
    for (const name of ['CPANEL_BASE_URL', 'CPANEL_USERNAME', 'CPANEL_TOKEN', 'CPANEL_PASSWORD', 'CPANEL_TOTP_SECRET', 'CPANEL_AUTH']) expect(main).toContain(name);
    expect(manPage('1.2.3')).toContain('MIAB_DNS01_PROVIDER');
  });
});
