/**
 * What `npm run bench` measures by running a command and timing it, as data: a label, the command, which time
 * counts, and the goal. The rootfs builds go to the bench's own directory: rebuilding the shared busybox rootfs
 * with --force would pull it from under a lesson running in another terminal.
 */
import type { Goal } from './measure.ts';

export interface Benchmark {
  label: string;
  /** Which part: `explain` and `lesson` need the shared rootfs only to read it; `rootfs` builds its own. */
  group: 'explain' | 'lesson' | 'rootfs';
  /** Short name, unique in its group (the JSON file's key). */
  key: string;
  cmd: string;
  args: string[];
  field: 'firstOutputMs' | 'totalMs';
  needsRoot: boolean;
  goal?: Goal;
}

export function benchmarks(node: string, rootfsDir: string): Benchmark[] {
  const npmLesson = (...a: string[]) => ['run', '-s', 'lesson', '01', '--', ...a];
  return [
    {
      label: 'node -e 0 (the floor: node itself)',
      key: 'node',
      group: 'explain',
      cmd: node,
      args: ['-e', '0'],
      field: 'totalMs',
      needsRoot: false,
    },
    {
      label: 'lesson runner, compiled (node bin/lesson.mjs 01 --explain): first output',
      key: 'compiled',
      group: 'explain',
      cmd: node,
      args: ['bin/lesson.mjs', '01', '--explain'],
      field: 'firstOutputMs',
      needsRoot: false,
      goal: { op: '<=', value: 250 },
    },
    {
      label: 'the same through a TypeScript loader (node --import tsx lib/cli/lesson.ts): first output',
      key: 'tsx',
      group: 'explain',
      cmd: node,
      args: ['--import', 'tsx', 'lib/cli/lesson.ts', '01', '--explain'],
      field: 'firstOutputMs',
      needsRoot: false,
    },
    {
      label: 'npm run lesson 01 -- --explain: first output (npm, then the compiled runner)',
      key: 'npm',
      group: 'explain',
      cmd: 'npm',
      args: npmLesson('--explain'),
      field: 'firstOutputMs',
      needsRoot: false,
    },
    {
      label: 'npm run lesson 01 -- --no-shell: first output',
      key: 'first',
      group: 'lesson',
      cmd: 'npm',
      args: npmLesson('--no-shell'),
      field: 'firstOutputMs',
      needsRoot: true,
    },
    {
      label: 'npm run lesson 01 -- --no-shell: whole lesson',
      key: 'whole',
      group: 'lesson',
      cmd: 'npm',
      args: npmLesson('--no-shell'),
      field: 'totalMs',
      needsRoot: true,
    },
    {
      label: 'npm run rootfs -- --force --dir BENCH_DIR (cold build)',
      key: 'cold',
      group: 'rootfs',
      cmd: 'npm',
      args: ['run', '-s', 'rootfs', '--', '--force', '--dir', rootfsDir],
      field: 'totalMs',
      needsRoot: true,
    },
    {
      label: 'npm run rootfs -- --dir BENCH_DIR (warm: already up to date)',
      key: 'warm',
      group: 'rootfs',
      cmd: 'npm',
      args: ['run', '-s', 'rootfs', '--', '--dir', rootfsDir],
      field: 'totalMs',
      needsRoot: true,
    },
  ];
}
