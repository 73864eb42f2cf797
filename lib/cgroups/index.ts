/**
 * Control groups: how the kernel limits what a group of processes may use.
 *
 * A cgroup is a directory in a special filesystem under /sys/fs/cgroup. Making the directory makes the group;
 * writing a number into one of its files sets a limit (`echo 20 > pids.max`); writing a PID into its
 * `cgroup.procs` moves that process (and every child it forks afterwards) into the group; reading its files
 * tells what the group used and how often the kernel said no (`memory.events`, `cpu.stat`). Removing the
 * directory (once no process is left in it) removes the group. There is no other API: docker, systemd and
 * this workshop all do exactly that.
 *
 * The files come in two layouts. cgroup **v1** (older hosts, and this project's CI machine) mounts one tree per
 * controller — /sys/fs/cgroup/memory, /sys/fs/cgroup/pids, /sys/fs/cgroup/cpu — so a container has one
 * directory in each tree and its PID is written into each. cgroup **v2** (Ubuntu 24.04, the workshop VM) has a
 * single tree where a parent hands controllers down to its children through `cgroup.subtree_control`, and
 * only leaves hold processes. A *hybrid* host mounts both; each controller is used where it is mounted.
 *
 * lib/cgroups gives one interface over both, one job per module: contract.ts (the types), layout.ts (which
 * trees this host has), plan.ts (the directories and writes for some limits, so a lesson can show them before they
 * happen), cgroup.ts (create, add a process, read stats, remove), measure.ts (counters over time), and the v1 and
 * v2 specifics in v1.ts and v2.ts; device rules in device-rules.ts (the rules), device-emulator.ts (what a list of
 * them amounts to) and devices.ts (applying them: v1 files, or a v2 BPF program from lib/bpf). This file only
 * gathers them for lessons to import from one place.
 */
export * from './contract.ts';
export * from './limits.ts';
export * from './files.ts';
export * from './layout.ts';
export * from './ops.ts';
export * from './plan.ts';
export * from './cgroup.ts';
export * from './measure.ts';
export * from './device-rules.ts';
export * from './device-emulator.ts';
export * from './devices.ts';
