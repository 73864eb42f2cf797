/**
 * What `npm run bench` measures, as data: a label, the command, and which time counts. The rootfs builds go to
 * the bench's own directory: rebuilding the shared busybox rootfs with --force would pull it from under a lesson
 * running in another terminal.
 */
export interface Benchmark {
  label: string;
  /** Which part: `explain` and `lesson` need the shared rootfs only to read it; `rootfs` builds its own. */
  group: 'explain' | 'lesson' | 'rootfs';
  cmd: string;
  args: string[];
  field: 'firstOutputMs' | 'totalMs';
  needsRoot: boolean;
}

export function benchmarks(node: string, rootfsDir: string): Benchmark[] {
  const lesson = ['--import', 'tsx', 'lib/cli/lesson.ts'];
  const npmLesson = (...a: string[]) => ['run', '-s', 'lesson', '01', '--', ...a];
  return [
    {
      label: 'npm run lesson 01 -- --explain: first output',
      group: 'explain',
      cmd: 'npm',
      args: npmLesson('--explain'),
      field: 'firstOutputMs',
      needsRoot: false,
    },
    {
      label: 'node --import tsx lib/cli/lesson.ts 01 --explain: first output',
      group: 'explain',
      cmd: node,
      args: [...lesson, '01', '--explain'],
      field: 'firstOutputMs',
      needsRoot: false,
    },
    {
      label: 'npm run lesson 01 -- --no-shell: first output',
      group: 'lesson',
      cmd: 'npm',
      args: npmLesson('--no-shell'),
      field: 'firstOutputMs',
      needsRoot: true,
    },
    {
      label: 'npm run lesson 01 -- --no-shell: whole lesson',
      group: 'lesson',
      cmd: 'npm',
      args: npmLesson('--no-shell'),
      field: 'totalMs',
      needsRoot: true,
    },
    {
      label: 'npm run rootfs -- --force --dir BENCH_DIR (cold build)',
      group: 'rootfs',
      cmd: 'npm',
      args: ['run', '-s', 'rootfs', '--', '--force', '--dir', rootfsDir],
      field: 'totalMs',
      needsRoot: true,
    },
    {
      label: 'npm run rootfs -- --dir BENCH_DIR (warm: already up to date)',
      group: 'rootfs',
      cmd: 'npm',
      args: ['run', '-s', 'rootfs', '--', '--dir', rootfsDir],
      field: 'totalMs',
      needsRoot: true,
    },
  ];
}
