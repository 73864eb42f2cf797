/**
 * npm run build — compile the bundles plain node runs: the container init, ctr, and the lesson runner with its
 * lessons (lib/bundle.ts says why). npm run setup calls it; bin/launch.mjs and the runtime also rebuild on first use
 * when the sources have changed. `build ctr` (or `init`, `lessons`) builds only that one.
 */
import { CTR_BUNDLE, ensureBundle, INIT_BUNDLE, LESSONS_BUNDLE, type BundleEntry } from '../bundle.ts';
import { UserError } from '../errors.ts';
import { main } from './main.ts';

const BY_NAME: Record<string, BundleEntry> = { init: INIT_BUNDLE, ctr: CTR_BUNDLE, lessons: LESSONS_BUNDLE };

await main(async () => {
  const names = process.argv.slice(2);
  for (const n of names) if (!BY_NAME[n]) throw new UserError(`no bundle called ${n}`, 'npm run build');
  for (const entry of names.length > 0 ? names.map((n) => BY_NAME[n]!) : Object.values(BY_NAME)) {
    await ensureBundle(entry);
  }
  return 0;
});
