/**
 * Exercise 07 — images: what a layer's tar entry does to the layer.
 *
 * A layer only adds files, so deleting one from a lower layer needs a marker — and overlayfs speaks another
 * dialect than the tar does. Unpacking therefore turns each tar entry name into an action on the layer directory.
 * Lesson 07 applies your function to every entry of its image's layers 2 and 3 (`npm run lesson 07 -- --mine`)
 * and checks each answer against what is really in the unpacked layers on disk.
 *
 * What you need to know (the OCI image spec's whiteouts, from aufs):
 * - the name you get is cleaned: relative, no `./`, no trailing `/` — e.g. `etc/passwd`, `srv/app/.wh..wh..opq`;
 *   `dir` in your answer is everything before the last `/` ('' for an entry at the top);
 * - `.wh.NAME` — an empty file — means NAME (in the same directory) was deleted:
 *   `{ action: 'whiteout', dir, name: NAME }` (on disk: a character device 0/0 named NAME);
 * - `.wh..wh..opq` in a directory makes that directory opaque — nothing of the lower layers' version shows:
 *   `{ action: 'opaque', dir }` (on disk: the xattr trusted.overlay.opaque=y on dir);
 * - any other name starting `.wh..wh.` is aufs bookkeeping (like `.wh..wh.plnk`), and so is everything inside
 *   such a directory: `{ action: 'skip' }`;
 * - everything else is created: `{ action: 'create', dir, name }`.
 */
import type { LayerEntryAction } from '../../lib/image/whiteout.ts';

export function layerEntryAction(entry: string): LayerEntryAction {
  // TODO: split off the last component; opaque marker, aufs bookkeeping, whiteout, or a plain create.
  throw new Error(`TODO: write layerEntryAction (for ${entry})`);
}
