/**
 * Build lesson 11's attack kit: `breakout`, a small C program (breakout.c) compiled static, offline, in a
 * fraction of a second.
 *
 * Lesson 11 attacks its own containers from inside — the chroot escape, a setuid binary, blocked system calls,
 * an inherited file descriptor — and needs a program that makes those system calls itself and prints the
 * kernel's answers. Static, because a container's root filesystem may have no C library at all (the busybox
 * rootfs has none), and the same file then works in any rootfs: the lesson puts it in an image layer of its own.
 * It is built into dist/, next to the init bundle, whenever breakout.c changes (a stamp holds the source's
 * hash); `npm run rootfs` builds it too. It needs gcc and a static C library (Debian: gcc, libc6-dev).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../lib/errors.ts';
import { BREAKOUT_FIX, breakoutIsFresh, breakoutPaths, breakoutSourceHash } from '../lib/security/breakout.ts';

/** The argv that compiles it: static, small, every warning on. */
export function breakoutBuildArgv(out: string): string[] {
  return ['gcc', '-static', '-Os', '-Wall', '-Wextra', '-o', out, breakoutPaths().source];
}

export interface BreakoutBuild {
  path: string;
  /** False when an up-to-date binary was already there. */
  built: boolean;
  ms: number;
}

/**
 * Build dist/breakout unless it is up to date. Built next to its final name and renamed into place, so two
 * builds at once (two lessons started together) never expose half a file.
 */
export async function buildBreakout(opts: { force?: boolean } = {}): Promise<BreakoutBuild> {
  const started = Date.now();
  const { binary, stamp } = breakoutPaths();
  if (!opts.force && breakoutIsFresh()) return { path: binary, built: false, ms: Date.now() - started };
  const { execa } = await import('execa');
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  const [gcc = 'gcc', ...args] = breakoutBuildArgv(tmp);
  const r = await execa(gcc, args, { reject: false });
  if (r.failed) {
    fs.rmSync(tmp, { force: true });
    const missing = (r as { code?: string }).code === 'ENOENT' || /cannot find -lc|libc\.a/.test(r.stderr);
    throw new UserError(
      missing
        ? "lesson 11's attack kit is built with gcc and a static C library, and this machine lacks them"
        : `building lesson 11's attack kit failed: ${r.stderr.trim().split('\n').slice(-1)[0] ?? r.shortMessage}`,
      BREAKOUT_FIX,
    );
  }
  fs.renameSync(tmp, binary);
  fs.writeFileSync(stamp, `${breakoutSourceHash()}\n`);
  giveToInvokingUser([binary, stamp]);
  return { path: binary, built: true, ms: Date.now() - started };
}

/** Files a `sudo npm run …` made in the checkout belong to the learner who ran it, as dist/'s bundles do. */
function giveToInvokingUser(files: string[]): void {
  const uid = Number(process.env.SUDO_UID);
  const gid = Number(process.env.SUDO_GID);
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid)) return;
  for (const f of files) fs.chownSync(f, uid, gid);
}

/** The path of an up-to-date dist/breakout, built first if needed. */
export async function ensureBreakout(): Promise<string> {
  return (await buildBreakout()).path;
}

/**
 * Build it for `npm run rootfs` and `npm run setup`, and say how that went in one line. A machine without gcc
 * still gets its rootfs: only lesson 11 needs the kit, and it names the fix when it starts.
 */
export async function describeBreakoutBuild(force = false): Promise<string> {
  try {
    const b = await buildBreakout({ force });
    return b.built
      ? `✔ lesson 11's attack kit built: ${b.path} (${b.ms} ms)`
      : `✔ lesson 11's attack kit up to date: ${b.path}`;
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return `! lesson 11's attack kit not built: ${error.message} — fix: ${error.fix ?? BREAKOUT_FIX}`;
  }
}
