#!/usr/bin/env node
// The lesson runner's launcher (npm run lesson): runs the compiled dist/lesson.mjs, which loads each lesson's
// compiled twin by number; rebuilt first when lib/, lessons/ or rootfs-scripts/ changed (see launch.mjs).
import { launch } from './launch.mjs';

await launch('lesson.mjs', 'lessons');
