/**
 * An optional full Debian rootfs, for those who want `apt` inside the container: debootstrap, from Debian's
 * mirror (the one network access this needs). Slower (a few minutes) and bigger (~200 MB) than busybox.
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
}

export function debootstrapArgv(opts: DebianOptions, target: string): string[] {
  return [
    'debootstrap',
    '--variant=minbase',
    '--include=iproute2,procps',
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
