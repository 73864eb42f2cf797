/**
 * The root filesystem a container runs in: finding it and checking it is usable.
 *
 * A rootfs is just a directory that looks like `/`: `bin/sh`, `etc`, `proc`, `dev`. The workshop builds a
 * small busybox one by default (`npm run rootfs`); `--rootfs DIR` points a lesson at any other.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from './errors.ts';
import { DEFAULT_ROOTFS } from './names.ts';

export const BUILD_COMMAND = 'npm run rootfs';

/** The rootfs to use: the --rootfs flag, else $SCRATCH_ROOTFS, else the default busybox rootfs. */
export function resolveRootfs(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(flag ?? env.SCRATCH_ROOTFS ?? DEFAULT_ROOTFS);
}

/** Throws a UserError naming the path and the command that builds a rootfs, when `dir` is not one. */
export function assertRootfs(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UserError(`rootfs ${dir} does not exist`, BUILD_COMMAND);
  }
  if (!st.isDirectory()) throw new UserError(`rootfs ${dir} is not a directory`, BUILD_COMMAND);
  // lstat, not stat: bin/sh is usually a symlink to busybox *inside* the rootfs, which stat would resolve on the host.
  const sh = path.join(dir, 'bin', 'sh');
  try {
    fs.lstatSync(sh);
  } catch {
    throw new UserError(`rootfs ${dir} has no /bin/sh`, BUILD_COMMAND);
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
