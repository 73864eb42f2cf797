/**
 * Whiteouts: how a layer says "this file is gone".
 *
 * A layer only adds. To delete a file that a lower layer has, the upper layer carries a marker in its place, and
 * two conventions exist for that marker. **In a tar** (the OCI image spec, from aufs): an empty file named
 * `.wh.NAME` deletes NAME, and `.wh..wh..opq` in a directory makes that directory *opaque* — nothing of the
 * lower layers' version of it shows through. **On disk for overlayfs**: a whiteout is a character device with
 * device number 0/0 named NAME itself, and an opaque directory carries the extended attribute
 * `trusted.overlay.opaque=y`. Unpacking converts the first into the second; `docker commit` (commit.ts) converts
 * back. Other `.wh..wh.` names are aufs bookkeeping (hard-link and metadata directories) and mean nothing here.
 */
import type fs from 'node:fs';
import { lgetxattr } from './native.ts';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';
/** Extended attributes overlayfs keeps for itself: never taken from an image, never put into one. */
export const OVERLAY_XATTR_PREFIX = 'trusted.overlay.';

export type WhiteoutName =
  { kind: 'opaque' } | { kind: 'whiteout'; target: string } | { kind: 'meta' } | { kind: 'none' };

/** What a tar entry's last path component means in the whiteout convention. */
export function classifyName(base: string): WhiteoutName {
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  if (base === OPAQUE_MARKER) return { kind: 'opaque' };
  if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return { kind: 'meta' };
  return { kind: 'whiteout', target: base.slice(WHITEOUT_PREFIX.length) };
}

/** Whether a stat (from lstat) is an overlayfs whiteout: a character device 0/0. */
export function isWhiteoutStat(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** Whether a directory on disk is marked opaque for overlayfs. */
export function isOpaqueDir(dir: string): boolean {
  return lgetxattr(dir, OPAQUE_XATTR)?.toString() === 'y';
}
