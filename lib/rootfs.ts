/**
 * The root filesystem a container runs in: finding it and checking it is usable.
 *
 * A rootfs is just a directory that looks like `/`: `bin/sh`, `etc`, `proc`, `dev`. The workshop builds a
 * small busybox one by default (`npm run rootfs`); `--rootfs DIR` points a lesson at any other.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from './errors.ts';
import { mountTablePath } from './mountinfo.ts';
import { DEFAULT_ROOTFS } from './names.ts';

export const BUILD_COMMAND = 'npm run rootfs';

/**
 * The rootfs to use: the --rootfs flag, else $SCRATCH_ROOTFS, else the default busybox rootfs. A symlink is
 * resolved to its target: that is the path the kernel's mount table shows for what is mounted inside it.
 */
export function resolveRootfs(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return mountTablePath(path.resolve(flag ?? env.SCRATCH_ROOTFS ?? DEFAULT_ROOTFS));
}

/**
 * The fix for a path that is not a usable rootfs. Only the default rootfs is built by `npm run rootfs`; another
 * path needs that path built (if it is new or empty) or another path (if it holds something else).
 */
function fixFor(dir: string, kind: 'missing' | 'empty' | 'other'): string {
  if (dir === DEFAULT_ROOTFS) return BUILD_COMMAND;
  const leaveOut = 'or leave out --rootfs for the default one';
  if (kind === 'other') return `point --rootfs at a root filesystem (a directory with bin/sh in it), ${leaveOut}`;
  return `${BUILD_COMMAND} -- --dir ${dir}   (builds a busybox rootfs there), ${leaveOut}`;
}

/** Throws a UserError naming the path and what makes it a rootfs, when `dir` is not one. */
export function assertRootfs(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UserError(`rootfs ${dir} does not exist`, fixFor(dir, 'missing'));
  }
  if (!st.isDirectory()) throw new UserError(`rootfs ${dir} is not a directory`, fixFor(dir, 'other'));
  // lstat, not stat: bin/sh is usually a symlink to busybox *inside* the rootfs, which stat would resolve on the host.
  const sh = path.join(dir, 'bin', 'sh');
  try {
    fs.lstatSync(sh);
  } catch {
    const empty = fs.readdirSync(dir).length === 0;
    throw new UserError(
      `rootfs ${dir} ${empty ? 'is an empty directory' : 'has no /bin/sh'}`,
      fixFor(dir, empty ? 'empty' : 'other'),
    );
  }
}

export function rootfsExists(dir: string): boolean {
  try {
    assertRootfs(dir);
    return true;
  } catch {
    return false;
  }
}
