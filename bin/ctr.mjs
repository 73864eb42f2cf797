#!/usr/bin/env node
// ctr's launcher: runs the compiled dist/ctr.mjs, rebuilt first when lib/ changed (see launch.mjs).
import { launch } from './launch.mjs';

await launch('ctr.mjs', 'ctr');
