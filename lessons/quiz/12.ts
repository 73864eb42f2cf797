/** Quiz for lesson 12: the capstone, a mini docker. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '12',
  title: 'Capstone: mini docker',
  questions: [
    {
      prompt: 'In what order are things set up before the container command runs?',
      choices: [
        'Command first, then namespaces',
        'cgroup and network on the host, then new namespaces, mounts and pivot_root, then security settings, then exec the command',
        'pivot_root first, then the cgroup',
      ],
      answer: 1,
      why: 'Resources the host owns (cgroup, veth) are created first; inside the new namespaces the mounts and pivot_root come next; capabilities are dropped last, just before exec, because setup needed them.',
    },
    {
      prompt: 'What does `ps` of the mini docker read to list containers?',
      choices: ['The kernel container table', 'The state directories under /run/scratch/<id>', 'The docker daemon'],
      answer: 1,
      why: 'The kernel has no container list. A runtime keeps its own state (PID, spec, status) in a directory per container, like runc under /run/runc.',
    },
    {
      prompt: 'What must `rm` undo?',
      choices: [
        'Only the state directory',
        'Nothing: the kernel cleans up',
        'Everything the run created: processes, mounts, the cgroup, the veth, the state directory',
      ],
      answer: 2,
      why: 'Cgroups, veths and bind mounts outlive processes unless removed. Every resource is registered for cleanup as it is created, so rm (and npm run clean) can undo it.',
    },
    {
      prompt: 'Which of these did the workshop NOT build that real docker has?',
      choices: [
        'seccomp syscall filtering and a daemon with an API',
        'PID namespaces',
        'cgroup limits',
        'overlay layers',
      ],
      answer: 0,
      why: 'seccomp filters and the client/daemon split (plus build, volumes and more) are what is left; every other piece was built by hand in lessons 00-11.',
    },
  ],
});
