/** Quiz for lesson 10: nsenter. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '10',
  title: 'nsenter',
  questions: [
    {
      prompt: 'How does nsenter join the namespaces of a running container?',
      choices: [
        'It opens /proc/<pid>/ns/* of a container process and calls setns(2) on each',
        'It asks the container to fork',
        'It connects over the network',
      ],
      answer: 0,
      why: 'Each link in /proc/<pid>/ns is a handle on a namespace; setns(2) moves the caller into it. That is all docker exec needs for isolation.',
    },
    {
      prompt: 'After nsenter into the PID namespace, why does the new process get a PID in it only after a fork?',
      choices: [
        'Because of the cgroup',
        'For the same reason as unshare --pid: a process never changes its own PID',
        'It does not: it is PID 1',
      ],
      answer: 1,
      why: 'setns(CLONE_NEWPID) affects children only, so nsenter forks; the child is the process that appears inside the container.',
    },
    {
      prompt: 'Besides namespaces, what must an exec also join to be a real part of the container?',
      choices: ['Nothing', 'The host network', 'Its cgroup (so the limits apply) and its root directory'],
      answer: 2,
      why: 'Without the cgroup, the exec process would escape the memory and pids limits; without the container root it would see the host files.',
    },
    {
      prompt: 'Which docker command is this lesson?',
      choices: ['docker attach', 'docker exec', 'docker run', 'docker cp'],
      answer: 1,
      why: 'docker exec starts an extra process inside an existing container: same namespaces, same cgroup, same root.',
    },
  ],
});
