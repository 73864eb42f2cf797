/**
 * Build the default root filesystem: busybox, offline, in a second or two.
 *
 * A container needs a directory that looks like `/`. The smallest honest one is a single static binary —
 * busybox, from Debian's busybox-static package, already on the machine — plus a link for each command it
 * provides (`ls`, `ps`, `mount`, `hostname`, ...), the empty mount points the container fills in (/proc, /sys,
 * /dev, /tmp), a few files in /etc, and the device nodes without which a shell misbehaves (busybox sh opens
 * /dev/null for background jobs).
 *
 * The build happens in a temporary directory next to the target and is renamed into place at the end, so an
 * interrupted build never leaves a half rootfs that looks finished. A stamp file records what was built from;
 * building again with the same busybox is instant unless forced.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { $ } from 'zx';
import { UserError } from '../lib/errors.ts';
import { mountsUnder } from '../lib/mountinfo.ts';

/** Bump when the layout below changes, so existing rootfs directories are rebuilt. */
const FORMAT = 2;
export const STAMP = '.scratch-rootfs.json';

export interface BuildOptions {
  dir: string;
  force?: boolean;
  /** Show a progress display (a terminal); otherwise one line per phase. */
  progress?: boolean;
  log?: (line: string) => void;
}

export interface BuildResult {
  dir: string;
  /** False when an up-to-date rootfs was already there. */
  built: boolean;
  applets: number;
  ms: number;
}

interface Stamp {
  format: number;
  busyboxSha256: string;
  busyboxVersion: string;
  applets: number;
}

/** Device nodes every container needs: name, type, major, minor (see Documentation/admin-guide/devices.txt). */
export const DEVICE_NODES: ReadonlyArray<readonly [string, number, number]> = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
];

const ETC_FILES: Record<string, string> = {
  hostname: 'scratch\n',
  hosts: '127.0.0.1\tlocalhost\n::1\tlocalhost\n',
  passwd: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  group: 'root:x:0:\nnogroup:x:65534:\n',
  // A prompt that says where you are: learners switch between host and container shells all the time.
  profile: "export PS1='[container \\h \\w]\\$ '\nexport PATH=/bin:/sbin:/usr/bin:/usr/sbin\n",
  'os-release': 'NAME="scratch busybox"\nID=scratch\nPRETTY_NAME="containers-from-scratch busybox rootfs"\n',
};

const MOUNT_POINTS = ['proc', 'sys', 'dev', 'tmp', 'root', 'etc', 'run', 'var/tmp', 'home', 'mnt'];

/** Where busybox-static put its binary; a UserError with the install command when it is not installed. */
export async function findStaticBusybox(): Promise<string> {
  const listed = await $({ nothrow: true, quiet: true })`dpkg-query -L busybox-static`;
  const bin = listed.stdout.split('\n').find((l) => /\/bin\/busybox$/.test(l));
  if (listed.exitCode !== 0 || !bin || !fs.existsSync(bin)) {
    throw new UserError('busybox-static is not installed', 'apt-get install -y busybox-static   (or: npm run setup)');
  }
  return bin;
}

/** `busybox --list-full` prints paths like `usr/bin/awk`: where each applet link goes. */
export function parseAppletList(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('/') && !l.includes('..') && l !== 'bin/busybox');
}

/** The relative link target from an applet path back to /bin/busybox, so it resolves inside the rootfs. */
export function appletTarget(applet: string): string {
  return path.posix.relative(path.posix.dirname(applet), 'bin/busybox');
}

function readStamp(dir: string): Stamp | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, STAMP), 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

export async function buildBusyboxRootfs(opts: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const log = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const busybox = await findStaticBusybox();
  const sha = crypto.createHash('sha256').update(fs.readFileSync(busybox)).digest('hex');
  const old = readStamp(opts.dir);
  if (!opts.force && old?.format === FORMAT && old.busyboxSha256 === sha) {
    return { dir: opts.dir, built: false, applets: old.applets, ms: Date.now() - started };
  }

  // Never replace a directory that holds something this builder did not make (`--dir` pointed at the wrong
  // place): only a missing or empty directory, or an earlier build (it has the stamp), is replaced.
  if (!old && fs.existsSync(opts.dir) && fs.readdirSync(opts.dir).length > 0) {
    throw new UserError(
      `${opts.dir} is not empty and is not a rootfs built here; it is left as it is`,
      'choose a new or empty directory with --dir',
    );
  }
  // Never delete a rootfs something is mounted in: removing it would walk into that mount (a bind of the host's
  // /dev, a container's /proc) and delete through it.
  const busy = mountsUnder(opts.dir);
  if (busy.length > 0) {
    throw new UserError(`${opts.dir} is in use (${busy[0]?.mountPoint} is mounted)`, 'npm run clean');
  }
  const version = (await $({ quiet: true, nothrow: true })`${busybox}`).stdout.split('\n')[0] ?? 'BusyBox';
  const applets = parseAppletList((await $({ quiet: true })`${busybox} --list-full`).stdout);
  fs.mkdirSync(path.dirname(opts.dir), { recursive: true });
  const tmp = `${opts.dir}.building-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });

  try {
    log(`Building the busybox rootfs in ${opts.dir} from ${busybox} (${version.replace(/ multi-call.*/, '')})`);
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', ...MOUNT_POINTS]) {
      fs.mkdirSync(path.join(tmp, d), { recursive: true });
    }
    fs.chmodSync(path.join(tmp, 'tmp'), 0o1777);
    fs.copyFileSync(busybox, path.join(tmp, 'bin', 'busybox'));
    fs.chmodSync(path.join(tmp, 'bin', 'busybox'), 0o755);

    const bar = opts.progress
      ? new cliProgress.SingleBar(
          { format: '  applet links [{bar}] {value}/{total}', hideCursor: true },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    bar?.start(applets.length, 0);
    for (const applet of applets) {
      fs.symlinkSync(appletTarget(applet), path.join(tmp, applet));
      bar?.increment();
    }
    bar?.stop();
    if (!bar) log(`  ${applets.length} applet links`);

    for (const [name, content] of Object.entries(ETC_FILES)) fs.writeFileSync(path.join(tmp, 'etc', name), content);
    for (const [name, major, minor] of DEVICE_NODES) {
      await $({ quiet: true })`mknod -m 666 ${path.join(tmp, 'dev', name)} c ${major} ${minor}`;
    }
    log(`  /etc (${Object.keys(ETC_FILES).join(', ')}) and /dev (${DEVICE_NODES.map((d) => d[0]).join(', ')})`);

    const stamp: Stamp = { format: FORMAT, busyboxSha256: sha, busyboxVersion: version, applets: applets.length };
    fs.writeFileSync(path.join(tmp, STAMP), `${JSON.stringify(stamp, null, 2)}\n`);
    fs.rmSync(opts.dir, { recursive: true, force: true });
    fs.renameSync(tmp, opts.dir);
  } catch (error) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  return { dir: opts.dir, built: true, applets: applets.length, ms: Date.now() - started };
}
