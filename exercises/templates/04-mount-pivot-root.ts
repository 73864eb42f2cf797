/**
 * Exercise 04 — pivot_root.
 *
 * Two parts of the container's init plan, as lists of operations (see lib/init/ops.ts: each is one system
 * call). Lesson 04 renders your operations into init.sh, runs it (`npm run lesson 04 -- --mine`), and checks from
 * the host that nothing mounted inside leaked out, that the container's mount table is only its own, that the
 * rootfs is its / with no directory made for the old root, and that the escapes of lesson 01 stay inside.
 *
 * `rootMountOps(root)` runs before the container's mounts:
 * - first make the whole mount tree private — `{ op: 'makePrivate' }`, mount(NULL, "/", NULL, MS_REC|MS_PRIVATE) —
 *   or every mount that follows would propagate to the host (many hosts mark / shared);
 * - then bind the rootfs onto itself: pivot_root(2) wants the new root to be a mount point, and a bind mount makes
 *   one: `{ op: 'mount', source: root, target: root, fstype: null, flags: ['MS_BIND', 'MS_REC'], data: '' }`.
 *
 * How propagation is graded: `unshare --mount` makes a new mount namespace private by itself (its default,
 * `--propagation private`), so in the container a missing makePrivate would go unnoticed. Step 1 of the lesson
 * therefore runs your rootMountOps on their own, as a script (propagation.sh), in a namespace made with
 * `--propagation unchanged` below a shared mount, and then looks at the host's mount table: whatever your lines
 * let through is there — and the lesson's cleanup unmounts it.
 *
 * `pivotRootOps(root)` runs after them:
 * - `{ op: 'chdir', path: root }`, then `{ op: 'pivotRoot' }`: pivot_root(".", ".") makes the current directory the
 *   root of this mount namespace and stacks the old root on top of it, right there at ".";
 * - `{ op: 'detachOldRoot' }`: umount2(".", MNT_DETACH) lets the old root — the host's files — go; no directory
 *   is ever made for it (an `.oldroot` in a shared rootfs is what made parallel containers collide);
 * - `{ op: 'chdir', path: '/' }`.
 */
import type { InitOp } from '../../lib/init/ops.ts';

export function rootMountOps(root: string): InitOp[] {
  // TODO: private propagation, then the rootfs bound onto itself.
  throw new Error(`TODO: write rootMountOps (for ${root})`);
}

export function pivotRootOps(root: string): InitOp[] {
  // TODO: into the root, pivot_root(".", "."), detach the old root, chdir("/").
  throw new Error(`TODO: write pivotRootOps (for ${root})`);
}
