/** Quiz for lesson 03: the PID namespace. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '03',
  title: 'PID namespace',
  questions: [
    {
      prompt: 'In a new PID namespace, what PID does the first process get?',
      choices: ['The same as on the host', '0', '1', 'A random one'],
      answer: 2,
      why: 'The first process in a new PID namespace is its PID 1, its init. The host still sees it under its ordinary host PID.',
    },
    {
      prompt: 'Why does unshare need --fork together with --pid?',
      choices: [
        'Because unshare(2) moves only future children into the new PID namespace, not the caller',
        'Because forking is faster',
        'It does not: --fork is only for --mount',
      ],
      answer: 0,
      why: 'A process never changes its own PID. After unshare(CLONE_NEWPID) the next child becomes PID 1, so unshare forks and runs the command in that child.',
    },
    {
      prompt: 'The shell is PID 1 but ps still shows host processes. What is missing?',
      choices: [
        'A user namespace',
        'A fresh /proc mounted for the new PID namespace',
        'A cgroup',
        'A network namespace',
      ],
      answer: 1,
      why: 'ps reads /proc. The old /proc belongs to the host PID namespace; mounting proc again (unshare --mount-proc) shows only the container.',
    },
    {
      prompt: 'What happens to the other processes in the namespace when its PID 1 exits?',
      choices: ['They keep running', 'They become children of the host init', 'The kernel kills them all'],
      answer: 2,
      why: 'When the init of a PID namespace dies, the kernel sends SIGKILL to every other process in it. That is why docker stops a container by stopping its first process.',
    },
  ],
});
