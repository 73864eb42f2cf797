/**
 * ctr's command line for every command, as a learner meets it: `--help` prints the usage and exits 0, an unknown
 * flag is one line naming it and the help to read (docker's 125), never a stack trace. None of it needs root:
 * ctr reads its command line before it asks for sudo.
 */
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const CTR = path.resolve(import.meta.dirname, '../../bin/ctr.mjs');
const ctr = (args: string[]) => execa(process.execPath, [CTR, ...args], { reject: false, env: { FORCE_COLOR: '0' } });
const hasStackTrace = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);

/** The commands `ctr --help` lists: every one a learner can type. */
async function listedCommands(): Promise<string[]> {
  const r = await ctr(['--help']);
  return [...r.stdout.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]!);
}

describe('every ctr command, --help and an unknown flag', async () => {
  const commands = await listedCommands();

  it('ctr --help lists every command, export-bundle among them', () => {
    expect(commands).toEqual(expect.arrayContaining(['run', 'ps', 'exec', 'logs', 'stop', 'kill', 'rm', 'inspect']));
    expect(commands).toEqual(
      expect.arrayContaining(['images', 'pull', 'load', 'rmi', 'diff', 'commit', 'export-bundle']),
    );
  });

  it.each(commands)('ctr %s --help: its usage, exit 0', async (name) => {
    const r = await ctr([name, '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: ctr ${name}\\b`));
    expect(r.stderr).toBe('');
  });

  it.each(commands)('ctr %s --bogus: one line naming the flag and the help, exit 125', async (name) => {
    const r = await ctr([name, '--bogus', 'x']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr.trim().split('\n')).toEqual([`✘ unknown flag: --bogus — fix: ctr ${name} --help`]);
    expect(hasStackTrace(r.stdout + r.stderr)).toBe(false);
  });

  it('an unknown command is one line too', async () => {
    const r = await ctr(['frobnicate']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr.trim()).toBe('✘ unknown command: frobnicate — fix: ctr --help');
  });
});
