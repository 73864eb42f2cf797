/**
 * npm run build — compile the bundles plain node runs: the container init and ctr (lib/bundle.ts says why).
 * npm run setup calls it; bin/ctr.mjs and the runtime also rebuild on first use when lib/ has changed.
 */
import { CTR_BUNDLE, ensureBundle, INIT_BUNDLE } from '../bundle.ts';
import { main } from './main.ts';

await main(async () => {
  for (const entry of [INIT_BUNDLE, CTR_BUNDLE]) await ensureBundle(entry);
  return 0;
});
