/** Quiz for lesson 02: UTS and IPC namespaces. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '02',
  title: 'UTS and IPC namespaces',
  questions: [
    {
      prompt: 'What does the UTS namespace isolate?',
      choices: ['The user IDs', 'The hostname and NIS domain name', 'The system clock', 'The terminal'],
      answer: 1,
      why: 'UTS ("UNIX Time-sharing System") covers the hostname and domain name. Changing the hostname inside does not touch the host.',
    },
    {
      prompt: 'Which unshare flag gives a process its own hostname?',
      choices: ['--pid', '--mount', '--uts', '--net'],
      answer: 2,
      why: '`unshare --uts` creates a new UTS namespace; `hostname NAME` inside it changes only that namespace.',
    },
    {
      prompt: 'What lives in an IPC namespace?',
      choices: [
        'System V IPC objects and POSIX message queues',
        'Unix domain sockets',
        'Pipes between processes',
        'Signals',
      ],
      answer: 0,
      why: 'SysV shared memory, semaphores and message queues (ipcs lists them) and POSIX message queues are per IPC namespace. Sockets belong to the network namespace or the filesystem.',
    },
    {
      prompt: 'Which docker options relate to this lesson?',
      choices: ['--memory and --cpus', '-p and --network', '--hostname and --ipc', '--cap-drop'],
      answer: 2,
      why: 'docker run --hostname sets the name in the container UTS namespace; --ipc chooses whether the IPC namespace is private, shared or the host one.',
    },
  ],
});
