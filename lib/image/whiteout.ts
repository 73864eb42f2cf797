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

/** What one tar entry of a layer asks of the layer directory it is unpacked into (see `layerEntryAction`). */
export type LayerEntryAction =
  /** An ordinary entry: `name` is created in `dir` (a file, a directory, a link). */
  | { action: 'create'; dir: string; name: string }
  /** `.wh.NAME`: the lower layers' NAME in `dir` is deleted — on disk, a character device 0/0 named NAME. */
  | { action: 'whiteout'; dir: string; name: string }
  /** `.wh..wh..opq`: `dir` hides the lower layers' directory — on disk, trusted.overlay.opaque=y on `dir`. */
  | { action: 'opaque'; dir: string }
  /** aufs bookkeeping (`.wh..wh.plnk`, and whatever is inside such a directory): nothing to do on overlayfs. */
  | { action: 'skip' };

/**
 * Turn a layer's tar entry name (cleaned: relative, no `./`, no trailing `/`; the root itself excluded) into
 * what unpacking it does: `etc/.wh.os-release` → a whiteout for os-release in etc; `srv/app/.wh..wh..opq` → srv/app
 * made opaque; `etc/passwd` → create passwd in etc. Pure: the unpacker (unpack.ts) resolves `dir` safely and
 * acts. Lesson 07's exercise.
 */
export function layerEntryAction(entry: string): LayerEntryAction {
  const slash = entry.lastIndexOf('/');
  const dir = slash < 0 ? '' : entry.slice(0, slash);
  const base = entry.slice(slash + 1);
  const marker = classifyName(base);
  if (marker.kind === 'meta' || dir.split('/').some((c) => classifyName(c).kind === 'meta')) return { action: 'skip' };
  if (marker.kind === 'opaque') return { action: 'opaque', dir };
  if (marker.kind === 'whiteout') return { action: 'whiteout', dir, name: marker.target };
  return { action: 'create', dir, name: base };
}

/** Whether a stat (from lstat) is an overlayfs whiteout: a character device 0/0. */
export function isWhiteoutStat(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** Whether a directory on disk is marked opaque for overlayfs. */
export function isOpaqueDir(dir: string): boolean {
  return lgetxattr(dir, OPAQUE_XATTR)?.toString() === 'y';
}
