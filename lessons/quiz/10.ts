/** Quiz for lesson 10: nsenter and exec. */
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
      why: 'Each link in /proc/<pid>/ns is a handle on a namespace; setns(2) moves the caller into it. lsns lists the same namespaces from the host.',
    },
    {
      prompt: 'A plain `nsenter --target $PID --all sh` gets the namespaces and the root. What does it miss?',
      choices: [
        'Nothing: that is all docker exec does',
        'The container’s cgroup (limits do not apply) and its profile (it keeps root’s capabilities, no seccomp)',
        'The container’s hostname',
      ],
      answer: 1,
      why: 'The lesson read both from the host: /proc/<pid>/cgroup was the host’s, and CapEff the host root’s full set, Seccomp 0 — where PID 1 had docker’s 14 capabilities and the filter.',
    },
    {
      prompt: 'ctr exec puts the new process into the container’s cgroup. When?',
      choices: [
        'After the command has started',
        'At the sync point, before the init does anything in the container',
        'Never: exec processes are not limited',
      ],
      answer: 1,
      why: 'The init says "ready"; the host writes its PID into cgroup.procs; only then does it enter the root and apply capabilities, no_new_privs and seccomp. Everything it makes counts against the limits.',
    },
    {
      prompt: '`ctr stop -t 2` on a container whose PID 1 is `sleep`: what happens?',
      choices: [
        'sleep dies of SIGTERM at once',
        'SIGTERM is ignored — PID 1 of a namespace gets no signal it has no handler for — and SIGKILL ends it after 2 s (137)',
        'The container keeps running',
      ],
      answer: 1,
      why: 'That is why the grace period exists. The app container’s shell trapped SIGTERM and exited at once, status 0.',
    },
    {
      prompt: 'Which docker commands did this lesson build?',
      choices: ['docker attach and docker cp', 'docker exec, logs, stop and rm', 'docker build'],
      answer: 1,
      why: 'exec starts a process inside all of a running container; logs reads what the waiter wrote; stop is SIGTERM then SIGKILL; rm takes state, directory, cgroup and network away.',
    },
  ],
});
