/**
 * Optional Debian root filesystems, built by debootstrap from Debian's mirror (the one network access this
 * needs; a few minutes, ~200 MB):
 *   - `debian`: minbase plus procps and iproute2, for those who want `ps`, `ip` and `apt` inside;
 *   - `debian-minbase`: exactly `debootstrap --variant=minbase` — sh, coreutils, mount, apt, and no ps, no ip.
 *     That is what a learner who brings their own rootfs often has (a slim image's `docker export` is the
 *     same), and the lessons are tested on it.
 */
import fs from 'node:fs';
import { $ } from 'zx';
import { UserError } from '../lib/errors.ts';
import { mountsUnder, nothingMountedUnder } from '../lib/mountinfo.ts';

export interface DebianOptions {
  dir: string;
  suite?: string;
  mirror?: string;
  force?: boolean;
  /** Packages beyond minbase (default: iproute2 and procps; none for the bare minbase rootfs). */
  include?: readonly string[];
}

export const DEBIAN_EXTRAS = ['iproute2', 'procps'];

export function debootstrapArgv(opts: DebianOptions, target: string): string[] {
  const include = opts.include ?? DEBIAN_EXTRAS;
  return [
    'debootstrap',
    '--variant=minbase',
    ...(include.length > 0 ? [`--include=${include.join(',')}`] : []),
    opts.suite ?? 'bookworm',
    target,
    opts.mirror ?? 'http://deb.debian.org/debian',
  ];
}

export async function buildDebianRootfs(opts: DebianOptions): Promise<{ built: boolean }> {
  if (!opts.force && fs.existsSync(`${opts.dir}/etc/debian_version`)) return { built: false };
  if ((await $({ nothrow: true, quiet: true })`which debootstrap`).exitCode !== 0) {
    throw new UserError('debootstrap is not installed', 'apt-get install -y debootstrap');
  }
  if (mountsUnder(opts.dir).length > 0) throw new UserError(`${opts.dir} is in use`, 'npm run clean');
  const tmp = `${opts.dir}.building-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const [cmd, ...args] = debootstrapArgv(opts, tmp);
  try {
    await $({ stdio: 'inherit' })`${cmd} ${args}`;
    fs.writeFileSync(`${tmp}/etc/hostname`, 'scratch\n');
    fs.rmSync(opts.dir, { recursive: true, force: true });
    fs.renameSync(tmp, opts.dir);
  } catch (error) {
    // debootstrap mounts /proc and /sys in the target while it works; a failed run may leave them there.
    if (nothingMountedUnder(tmp)) fs.rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  return { built: true };
}
