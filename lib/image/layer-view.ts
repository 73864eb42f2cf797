/**
 * A stack of unpacked layers seen as one tree, the way overlayfs merges them — without mounting anything.
 *
 * overlayfs looks a name up in each layer from the top down: the first layer that has it wins; a whiteout
 * (a 0/0 character device) there means "deleted", and the search stops; a directory is merged with the same
 * directory in the layers below, unless it is opaque. Doing the same lookup in code answers "what does the
 * image have at /etc/passwd?" before any container exists (to resolve the config's User), and "did the lower
 * layers have this?" for `docker diff`.
 */
import fs from 'node:fs';
import { lstatOrUndefined, type TreeView } from './scoped-path.ts';
import { isOpaqueDir, isWhiteoutStat } from './whiteout.ts';

export interface Found {
  /** The layer directory the merged entry comes from. */
  layer: string;
  stat: fs.Stats;
}

/** Look a root-relative path up in layers given top first. Undefined if the merged tree has nothing there. */
export function lookupInLayers(layersTopFirst: readonly string[], rel: string): Found | undefined {
  const parts = rel.split('/').filter(Boolean);
  let visible = [...layersTopFirst];
  if (parts.length === 0) {
    const top = visible[0];
    return top === undefined ? undefined : { layer: top, stat: fs.lstatSync(top) };
  }
  let prefix = '';
  for (let i = 0; i < parts.length; i++) {
    prefix = prefix ? `${prefix}/${parts[i]}` : (parts[i] as string);
    let found: Found | undefined;
    const below: string[] = [];
    for (const layer of visible) {
      const st = lstatOrUndefined(`${layer}/${prefix}`);
      if (!st) continue;
      if (isWhiteoutStat(st)) break;
      found ??= { layer, stat: st };
      // A non-directory hides everything under it; only directories merge with what is below.
      if (!st.isDirectory() || !found.stat.isDirectory()) break;
      below.push(layer);
      if (isOpaqueDir(`${layer}/${prefix}`)) break;
    }
    if (!found) return undefined;
    if (i === parts.length - 1) return found;
    if (!found.stat.isDirectory()) return undefined;
    visible = below;
  }
  return undefined;
}

/** The merged names in a directory of the stack (whiteouts and opaque directories applied), sorted. */
export function listInLayers(layersTopFirst: readonly string[], rel: string): string[] {
  const candidates = new Set<string>();
  for (const layer of layersTopFirst) {
    // Looked up in this layer alone, so every component on the way is a real directory of this layer.
    if (!lookupInLayers([layer], rel)?.stat.isDirectory()) continue;
    for (const name of fs.readdirSync(rel ? `${layer}/${rel}` : layer)) candidates.add(name);
  }
  return [...candidates].filter((n) => lookupInLayers(layersTopFirst, rel ? `${rel}/${n}` : n)).sort();
}

/** A TreeView of the merged stack, for resolving paths in scope (scoped-path.ts). */
export function layerStackView(layersTopFirst: readonly string[]): TreeView {
  const find = (rel: string) => lookupInLayers(layersTopFirst, rel);
  return {
    lstat: (rel) => find(rel)?.stat,
    readlink: (rel) => {
      const f = find(rel);
      if (!f) throw new Error(`no ${rel} in the layers`);
      return fs.readlinkSync(`${f.layer}/${rel}`);
    },
    hostPath: (rel) => {
      const f = find(rel);
      if (!f) throw new Error(`no ${rel} in the layers`);
      return rel ? `${f.layer}/${rel}` : f.layer;
    },
  };
}
