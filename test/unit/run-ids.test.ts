import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import { claimRunId, drawRunId, releaseClaim, tryClaim } from '../../lib/run-ids.ts';

const dirs: string[] = [];
const claimsDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-runids-'));
  dirs.push(d);
  return path.join(d, 'runs');
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('run ids', () => {
  it('are the lesson number and four hex digits', () => {
    expect(drawRunId('05', () => 0)).toBe('050000');
    expect(drawRunId('12', () => 0.99999)).toBe('12ffff');
  });

  it('one id is held by one run at a time; given back, it can be claimed again', () => {
    const dir = claimsDir();
    expect(tryClaim('05abcd', { dir })).toBe(true);
    expect(tryClaim('05abcd', { dir })).toBe(false);
    releaseClaim('05abcd', dir);
    expect(fs.existsSync(dir)).toBe(false);
    expect(tryClaim('05abcd', { dir })).toBe(true);
  });

  it('an id asked for by SCRATCH_RUN_ID while another run holds it is refused in one line', () => {
    const dir = claimsDir();
    claimRunId('05', '05abcd', { dir });
    expect(() => claimRunId('05', '05abcd', { dir })).toThrow(UserError);
    expect(() => claimRunId('05', '05abcd', { dir })).toThrow(/in use by another run \(PID \d+\)/);
  });

  it.skipIf(process.platform !== 'linux')('a claim left by a killed run is taken over', () => {
    const dir = claimsDir();
    const gone = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '05dead'), `${gone} 12345\n`);
    expect(claimRunId('05', '05dead', { dir })).toBe('05dead');
  });

  it('a random draw that hits a held id draws again', () => {
    const dir = claimsDir();
    const draws = [0, 0, 0.5];
    const random = () => draws.shift() ?? 0.75;
    expect(claimRunId('05', undefined, { dir, random })).toBe('050000');
    expect(claimRunId('05', undefined, { dir, random })).toBe('058000');
  });

  it.skipIf(process.platform !== 'linux')(
    'runs started at the same moment, drawing from a pool of 48, never take the same id',
    async () => {
      const dir = claimsDir();
      // Each process claims 10 ids drawn from only 48 possible ones, and holds them until every process has.
      const script = [
        "import { claimRunId } from './lib/run-ids.ts';",
        'const dir = process.argv[1];',
        'const random = () => Math.floor(Math.random() * 48) / 0x10000;',
        'const ids = Array.from({ length: 10 }, () => claimRunId("07", undefined, { dir, random }));',
        'console.log(ids.join(" "));',
        'process.stdin.resume();',
      ].join('\n');
      const procs = Array.from({ length: 4 }, () =>
        spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], {
          cwd: path.resolve(import.meta.dirname, '../..'),
        }),
      );
      const outs = await Promise.all(
        procs.map(
          (p) =>
            new Promise<string>((resolve, reject) => {
              let out = '';
              p.stdout.on('data', (d: Buffer) => {
                out += d.toString();
                if (out.endsWith('\n')) resolve(out);
              });
              p.on('exit', (code) => reject(new Error(`exited ${code} before claiming`)));
            }),
        ),
      );
      for (const p of procs) p.stdin.end();
      const ids = outs.flatMap((o) => o.trim().split(' '));
      expect(ids).toHaveLength(40);
      expect(new Set(ids).size).toBe(40);
    },
    30_000,
  );
});
