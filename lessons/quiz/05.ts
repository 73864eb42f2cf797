/** Quiz for lesson 05: cgroups. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '05',
  title: 'cgroups',
  questions: [
    {
      prompt: 'How is a process put into a cgroup?',
      choices: [
        'With a special system call only runtimes may use',
        'By writing its PID into the cgroup.procs file of that cgroup',
        'By renaming it',
        'By setting an environment variable',
      ],
      answer: 1,
      why: 'cgroups are a filesystem: mkdir makes a cgroup, writing a PID to cgroup.procs moves the process, and limit files (memory.max, pids.max, cpu.max) set the limits.',
    },
    {
      prompt: 'The container goes over its memory limit. What does the kernel do?',
      choices: [
        'It slows the process down',
        'It swaps the whole host',
        'The OOM killer kills a process in that cgroup, and the cgroup counts it',
        'It raises the limit',
      ],
      answer: 2,
      why: 'When a cgroup cannot reclaim memory under its limit, the OOM killer kills a process inside that cgroup only; memory.events (v2) or memory.oom_control (v1) records it.',
    },
    {
      prompt: 'What stops a fork bomb in the container?',
      choices: ['pids.max', 'memory.max', 'cpu.max', 'ulimit in the host shell'],
      answer: 0,
      why: 'The pids controller caps how many tasks the cgroup may hold; fork() fails with EAGAIN beyond it, and the host stays responsive.',
    },
    {
      prompt: 'On cgroup v2, cpu.max contains "50000 100000". What does that mean?',
      choices: [
        'At most 50000 processes',
        'At most 50 ms of CPU time every 100 ms: half a CPU',
        '50% of memory',
        'Priority 50000',
      ],
      answer: 1,
      why: 'cpu.max is "quota period" in microseconds. docker run --cpus 0.5 writes exactly this; on cgroup v1 the same is cpu.cfs_quota_us and cpu.cfs_period_us.',
    },
    {
      prompt: 'What is the big difference between cgroup v1 and v2?',
      choices: [
        'v2 has no memory controller',
        'v1 has one hierarchy per controller; v2 has one unified tree for all controllers',
        'v2 only works in containers',
      ],
      answer: 1,
      why: 'On v1 each controller (memory, pids, cpu...) is mounted as its own tree under /sys/fs/cgroup/<controller>; v2 has a single tree at /sys/fs/cgroup where controllers are enabled per subtree.',
    },
  ],
});
