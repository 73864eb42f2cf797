/**
 * Exercise 06 — overlay layers.
 *
 * The mount options (the `data` argument of mount(2)) that make a container's root an overlay: the read-only
 * layers below, the container's own upper directory on top. Lesson 06 puts your string into init.sh's
 * `mount -t overlay overlay -o <yours> <root>` (`npm run lesson 06 -- --mine`) and checks from the host that writes
 * land in upper, that a deleted file becomes a whiteout there, that the rootfs is untouched, and that stacked
 * layers show the topmost's version of a file.
 *
 * What you need to know:
 * - `lowerdir=A:B:C` lists the read-only layers, separated by `:`. The FIRST is the TOP: a name is looked up in
 *   A, then B, then C. `lower` is given to you top first already — keep its order.
 * - `upperdir=DIR` is where every write of the container lands (new files, copied-up edits, whiteouts).
 * - `workdir=DIR` is overlayfs's scratch space for a copy-up in progress; it must be on the same filesystem as
 *   upper, and empty.
 * - Options are separated by `,`. The runtime appends its own (`redirect_dir=off,metacopy=off`) after yours.
 */

export function overlayData(lower: readonly string[], upper: string, work: string): string {
  // TODO: lowerdir (top first, joined by ':'), upperdir, workdir — comma-separated.
  throw new Error(`TODO: write overlayData (for ${lower.length} layers, upper ${upper}, work ${work})`);
}
