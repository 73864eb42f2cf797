/**
 * The real cgroup file system: the CgroupFs of contract.ts on /sys/fs/cgroup. Unit tests pass one that works on a
 * temporary directory instead.
 */
import fs from 'node:fs';
import { attachDeviceFilter } from '../bpf/load.ts';
import type { CgroupFs } from './contract.ts';

export const hostFs: CgroupFs = {
  exists: (p) => fs.existsSync(p),
  read: (p) => fs.readFileSync(p, 'utf8'),
  // One write(2) per value: the kernel parses each write on its own, so a value must not be split.
  write: (p, value) => fs.writeFileSync(p, value),
  mkdir: (p) => fs.mkdirSync(p),
  rmdir: (p) => fs.rmdirSync(p),
  listDirs: (p) =>
    fs
      .readdirSync(p, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name),
  attachDeviceProgram: (dir, program) => attachDeviceFilter(dir, program),
};
