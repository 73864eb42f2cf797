/**
 * Mount an overlay of image layers for a test, in a private mount namespace of its own (so the mount can never
 * leak into the host's namespace and is gone when the command ends), and run a shell command chrooted into it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

export interface OverlayRun {
  stdout: string;
  exitCode: number;
}

/**
 * `lowers` top first, as overlayfs's lowerdir wants them. With `upper`, writes land there; without, the overlay
 * is read-only. The mount point and work dir are made in `scratch` (on the upper dir's filesystem, as overlayfs
 * requires of the work dir) and removed afterwards.
 */
export async function inOverlay(
  lowers: readonly string[],
  script: string,
  opts: { scratch: string; upper?: string },
): Promise<OverlayRun> {
  fs.mkdirSync(opts.scratch, { recursive: true });
  const base = fs.mkdtempSync(path.join(opts.scratch, 'scr-ovl-'));
  const merged = path.join(base, 'merged');
  fs.mkdirSync(merged);
  let options = `lowerdir=${lowers.join(':')}`;
  if (opts.upper) {
    const work = path.join(base, 'work');
    fs.mkdirSync(work);
    fs.mkdirSync(opts.upper, { recursive: true });
    options += `,upperdir=${opts.upper},workdir=${work},redirect_dir=off,metacopy=off`;
  } else if (lowers.length === 1) {
    // overlayfs needs two layers to be read-only without an upper; an empty one on top changes nothing.
    const empty = path.join(base, 'empty');
    fs.mkdirSync(empty);
    options = `lowerdir=${empty}:${lowers[0]}`;
  }
  try {
    const r = await execa(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount -t overlay overlay -o "$1" "$2" && chroot "$2" /bin/sh -c "$3"',
        'sh',
        options,
        merged,
        script,
      ],
      { reject: false },
    );
    if (r.exitCode !== 0 && /mount/.test(r.stderr)) throw new Error(`overlay mount failed: ${r.stderr}`);
    return { stdout: r.stdout, exitCode: r.exitCode ?? 1 };
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}
