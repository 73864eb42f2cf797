/**
 * `docker diff`: what a container changed, read from its overlayfs upper directory.
 *
 * Everything a container writes lands in its upper dir, so the upper dir *is* the change set; the lower layers
 * only say how to name each change. A name in upper that the lowers do not have was **A**dded. One they have was
 * **C**hanged: a file edited is copied up whole, and a directory shows up in upper as soon as anything inside it
 * changes. A whiteout (0/0 character device) means **D**eleted. An opaque directory replaced the lower one
 * entirely (`rm -rf d; mkdir d`), so whatever the lowers had in it and upper does not is deleted too.
 */
import fs from 'node:fs';
import { listInLayers, lookupInLayers } from './layer-view.ts';
import { isOpaqueDir, isWhiteoutStat } from './whiteout.ts';

export interface Change {
  kind: 'A' | 'C' | 'D';
  /** Absolute inside the container: `/etc/motd`. */
  path: string;
}

/** Byte order, so the listing is the same everywhere. */
function sorted(names: string[]): string[] {
  return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/**
 * The changes in `upper` over `lowersTopFirst` (the overlay's lowerdir list, leftmost on top), each directory
 * before what is in it.
 */
export function diffUpper(upper: string, lowersTopFirst: readonly string[]): Change[] {
  const out: Change[] = [];
  const walk = (rel: string, parentAdded: boolean) => {
    const dir = rel ? `${upper}/${rel}` : upper;
    for (const name of sorted(fs.readdirSync(dir))) {
      const p = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(`${dir}/${name}`);
      const lower = parentAdded ? undefined : lookupInLayers(lowersTopFirst, p);
      if (isWhiteoutStat(st)) {
        if (lower) out.push({ kind: 'D', path: `/${p}` });
        continue;
      }
      const changedDir = st.isDirectory() && lower?.stat.isDirectory();
      out.push({ kind: lower ? 'C' : 'A', path: `/${p}` });
      if (!st.isDirectory()) continue;
      if (changedDir && isOpaqueDir(`${dir}/${name}`)) {
        const present = new Set(fs.readdirSync(`${dir}/${name}`));
        for (const gone of listInLayers(lowersTopFirst, p)) {
          if (!present.has(gone)) out.push({ kind: 'D', path: `/${p}/${gone}` });
        }
      }
      walk(p, !changedDir);
    }
  };
  walk('', false);
  return out;
}

/** `docker diff`'s lines: `C /etc`, `A /etc/motd`. */
export function formatChanges(changes: readonly Change[]): string[] {
  return changes.map((c) => `${c.kind} ${c.path}`);
}
