#!/usr/bin/env -S node --
// ctr's launcher: runs the compiled dist/ctr.mjs, rebuilt first when lib/ changed (see launch.mjs).
// `node --` (here and in package.json): node 20 reads `--env-file FILE` from anywhere in its argv, even after the
// script, so `ctr run --env-file F` had node load F into ctr's own environment, or exit 9 when F is missing.
import { launch } from './launch.mjs';

await launch('ctr.mjs', 'ctr');
