/**
 * Per-run state directories: /run/scratch/<id>/.
 *
 * Anything a run needs to keep on the host while it runs (a marker file, a container's pid file, an overlay's
 * upper directory) goes in its own directory under /run/scratch, a tmpfs that is empty after a reboot. The
 * directory is registered for removal the moment it is made.
 */
import fs from 'node:fs';
import type { CleanupStack } from './cleanup.ts';
import { nothingMountedUnder } from './mountinfo.ts';
import { stateDir } from './names.ts';

export function createStateDir(cleanup: CleanupStack, id: string): string {
  const dir = stateDir(id);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  cleanup.push(`remove state directory ${dir}`, () => {
    // Everything mounted below it was registered after it, so is already unmounted; check anyway, because a
    // recursive delete through a leftover mount would delete what is mounted there.
    if (!nothingMountedUnder(dir)) throw new Error(`${dir} still has mounts below it; run npm run clean`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
