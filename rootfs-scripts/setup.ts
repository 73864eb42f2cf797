/**
 * npm run setup — everything the lessons need on this machine, then the default rootfs.
 *
 * Installs the missing Debian/Ubuntu packages (busybox-static for the rootfs; util-linux, iproute2, iptables,
 * procps, uidmap, slirp4netns, gcc for the lessons) with apt-get when it can, builds the busybox rootfs and, from
 * it, the image archives of lesson 07 (rootfs-scripts/images.ts), and says what is next. Without root it re-runs
 * itself with sudo; where apt-get is not available it prints the exact command to run instead.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { $ } from 'zx';
import { main } from '../lib/cli/main.ts';
import { UserError } from '../lib/errors.ts';
import { DEFAULT_ROOTFS } from '../lib/names.ts';
import { requireLinux } from '../lib/preflight.ts';
import { quoteArg, quoteArgv } from '../lib/quote.ts';
import { toolPath } from '../lib/runner.ts';
import { ALL_BUNDLES, ensureBundle } from '../lib/bundle.ts';
import { buildBusyboxRootfs } from './busybox.ts';
import { describeBreakoutBuild } from './breakout.ts';
import { buildImages } from './images.ts';

/** The packages the lessons use (see lib/preflight.ts TOOLS for which lesson needs which). */
export const PACKAGES = [
  'busybox-static',
  'util-linux',
  'mount',
  'iproute2',
  'iptables',
  'procps',
  'hostname',
  'debootstrap',
  'ca-certificates',
  // Lesson 11 compiles its attack kit, static: gcc and the static C library.
  'gcc',
  'libc6-dev',
  // Lesson 09: newuidmap/newgidmap (65,536 ids for a rootless container; util-linux's unshare --map-users runs
  // them too, even for root), and a user-mode network stack for it.
  'uidmap',
  'slirp4netns',
  // Lesson 12 runs the OCI bundle ctr exports under runc, the production runtime, as the oracle.
  'runc',
];

export function aptInstallArgv(missing: readonly string[]): string[] {
  return ['apt-get', 'install', '-y', '--no-install-recommends', ...missing];
}

/**
 * What to run as root when there is no sudo: this same setup, with node named by its full path (root's PATH may
 * not have the learner's node), so it installs what is missing and builds the rootfs — never an apt-get line
 * with no package in it.
 */
export function setupAsRootFix(node: string, nodeArgs: readonly string[], script: string): string {
  return `su -c ${quoteArg(quoteArgv([node, ...nodeArgs, script]))}   (as root, in this directory)`;
}

async function missingPackages(): Promise<string[]> {
  const out: string[] = [];
  for (const pkg of PACKAGES) {
    const r = await $({ nothrow: true, quiet: true })`dpkg-query -W -f=${'${Status}'} ${pkg}`;
    if (!r.stdout.includes('install ok installed')) out.push(pkg);
  }
  return out;
}

const USAGE = `npm run setup
  Installs the Debian packages the lessons use (through sudo when needed), builds the busybox rootfs and the
  workshop images, and compiles the runner. Safe to run again: it skips what is already done.`;

await main(
  async () => {
    parseArgs({ options: {} }); // it takes none: a typo is one line, not ignored
    requireLinux();
    const hasApt = (await $({ nothrow: true, quiet: true })`command -v apt-get`).exitCode === 0;
    if (!hasApt) {
      throw new UserError(
        'npm run setup knows Debian and Ubuntu (apt-get); install busybox (static), util-linux, iproute2 and iptables with your package manager',
        'then: sudo npm run rootfs',
      );
    }
    const missing = await missingPackages();
    if (process.getuid?.() !== 0) {
      if ((await $({ nothrow: true, quiet: true })`command -v sudo`).exitCode !== 0) {
        const what = missing.length > 0 ? `installs ${missing.join(', ')} and ` : '';
        throw new UserError(
          `setup ${what}builds the rootfs as root, and sudo is not installed`,
          setupAsRootFix(process.execPath, process.execArgv, fileURLToPath(import.meta.url)),
        );
      }
      console.log('Setup installs packages and builds the rootfs under /var/lib/scratch: re-running with sudo…');
      const script = fileURLToPath(import.meta.url);
      const r = await $({
        stdio: 'inherit',
        nothrow: true,
      })`sudo --preserve-env=PATH ${process.execPath} ${process.execArgv} ${script}`;
      return r.exitCode ?? 1;
    }
    // As root now. Root's tools live in the sbin directories, which a normal user's PATH (kept by sudo) lacks.
    process.env.PATH = toolPath(process.env.PATH);
    if (missing.length > 0) {
      console.log(`Installing ${missing.join(', ')}:`);
      console.log(`  $ apt-get update && ${aptInstallArgv(missing).join(' ')}`);
      await $({ stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get update -qq`;
      await $({
        stdio: 'inherit',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      })`${aptInstallArgv(missing)}`;
    } else {
      console.log(`✔ packages already installed (${PACKAGES.join(', ')})`);
    }
    const r = await buildBusyboxRootfs({ dir: DEFAULT_ROOTFS, progress: process.stdout.isTTY });
    console.log(
      r.built ? `✔ busybox rootfs built in ${r.dir} (${r.ms} ms)` : `✔ busybox rootfs already up to date in ${r.dir}`,
    );
    // Lessons 06–07's images, from that rootfs: offline, so the images lesson needs no registry and no network.
    const images = await buildImages({ log: () => {} });
    console.log(
      images.built
        ? `✔ workshop images (docker save and OCI archives) built in ${images.dir}`
        : `✔ workshop images already up to date in ${images.dir}`,
    );
    // The init, ctr and the lesson runner run as compiled bundles; built now so the first start is at full speed.
    const t = Date.now();
    for (const entry of ALL_BUNDLES) await ensureBundle(entry);
    console.log(`✔ the TypeScript init, ctr and the lessons compiled into dist/ (${Date.now() - t} ms)`);
    console.log(await describeBreakoutBuild());
    console.log('Ready. Next: npm run lesson 01   (npm run doctor checks everything in detail)');
    return 0;
  },
  { usage: USAGE },
);
