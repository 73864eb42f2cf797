/**
 * Every npm script a learner types answers `--help` with its usage (exit 0, nothing done) and refuses an option it
 * does not know in one line naming it, with the usage as the fix — never a stack trace. Both are decided before
 * the script does anything, so this needs neither root nor Linux.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/bundle.ts';

const SCRIPTS: Record<string, string> = {
  doctor: 'lib/cli/doctor.ts',
  clean: 'lib/cli/clean.ts',
  mirror: 'lib/cli/mirror.ts',
  build: 'lib/cli/build.ts',
  rootfs: 'rootfs-scripts/build.ts',
  images: 'rootfs-scripts/images.ts',
  setup: 'rootfs-scripts/setup.ts',
};

async function run(file: string, args: string[]) {
  try {
    const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', file, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('npm scripts: --help and an unknown option', () => {
  for (const [name, file] of Object.entries(SCRIPTS)) {
    it(`npm run ${name}`, async () => {
      const [help, bogus] = await Promise.all([run(file, ['--help']), run(file, ['--no-such-flag'])]);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout.split('\n')[0]).toMatch(new RegExp(`^npm run ${name}\\b`));
      expect(bogus.code).toBe(1);
      const lines = bogus.stderr.trim().split('\n');
      expect(lines, bogus.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^✘ .*--no-such-flag.* — fix: npm run ${name}\\b`));
    });
  }
});
