/**
 * Finding a command in a rootfs as the container will: following links inside the rootfs, never the host's.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import {
  assertRootfsHas,
  findInRootfs,
  missingCommands,
  parsePsScript,
  PS_SCRIPT,
  resolveInRoot,
} from '../../lib/rootfs-tools.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-rootfs-tools-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

// A merged-/usr layout: /bin is a link to usr/bin; sh is an absolute link to /usr/bin/dash (inside the rootfs).
fs.mkdirSync(path.join(root, 'usr', 'bin'), { recursive: true });
fs.symlinkSync('usr/bin', path.join(root, 'bin'));
fs.writeFileSync(path.join(root, 'usr', 'bin', 'dash'), '', { mode: 0o755 });
fs.symlinkSync('/usr/bin/dash', path.join(root, 'usr', 'bin', 'sh'));
fs.writeFileSync(path.join(root, 'usr', 'bin', 'notes.txt'), '', { mode: 0o644 });
fs.symlinkSync('/etc/passwd-of-the-host', path.join(root, 'usr', 'bin', 'escape'));

describe('commands in a rootfs', () => {
  it('follows links inside the rootfs: /bin → usr/bin, an absolute link to /usr/bin/dash', () => {
    expect(resolveInRoot(root, '/bin/sh')).toBe(path.join(root, 'usr', 'bin', 'dash'));
    expect(findInRootfs(root, 'sh')).toBe('/usr/bin/sh');
  });

  it('never resolves through the host: .. stops at the rootfs, an absolute link starts at it', () => {
    expect(resolveInRoot(root, '/../../../usr/bin/dash')).toBe(path.join(root, 'usr', 'bin', 'dash'));
    expect(resolveInRoot(root, '/usr/bin/escape')).toBeUndefined();
  });

  it('a file that is not executable is not a command', () => {
    expect(missingCommands(root, ['sh', 'notes.txt', 'ps'])).toEqual(['notes.txt', 'ps']);
  });

  it('a missing command is one line naming it and how to get it', () => {
    try {
      assertRootfsHas(root, ['sh', 'ps'], 'lesson 03');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      expect((e as UserError).message).toBe(`rootfs ${root} has no ps, which lesson 03 runs inside the container`);
      expect((e as UserError).fix).toContain('leave out --rootfs');
    }
  });
});

describe('ps.sh: ps over /proc with nothing but sh', () => {
  for (const shell of ['dash', 'busybox']) {
    it(`lists this process with its parent under ${shell}`, () => {
      const argv = shell === 'busybox' ? ['busybox', 'sh', '-c', PS_SCRIPT] : ['dash', '-c', PS_SCRIPT];
      const rows = parsePsScript(execFileSync(argv[0]!, argv.slice(1)).toString());
      expect(rows.find((r) => r.pid === process.pid)).toMatchObject({ ppid: process.ppid, command: 'node' });
      expect(rows.length).toBeGreaterThan(5);
    });
  }
});
