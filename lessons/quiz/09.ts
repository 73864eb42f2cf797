/** Quiz for lesson 09: the user namespace. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '09',
  title: 'User namespace',
  questions: [
    {
      prompt: 'In a user namespace, the shell runs as uid 0. Which uid does the host see?',
      choices: ['0 as well', 'The unprivileged uid it is mapped to in uid_map', 'nobody (65534), always'],
      answer: 1,
      why: '/proc/<pid>/uid_map maps ids inside to ids outside. Root inside is an ordinary user outside, so it cannot touch host files it does not own.',
    },
    {
      prompt: 'What lets an unprivileged user map a whole range of ids, not only their own?',
      choices: ['sudo', 'newuidmap/newgidmap with the ranges granted in /etc/subuid and /etc/subgid', 'chmod 4755'],
      answer: 1,
      why: 'Without help, a user may only map their own uid. The setuid helpers newuidmap/newgidmap (package uidmap) write larger maps, within /etc/subuid and /etc/subgid.',
    },
    {
      prompt: 'Capabilities held by root in a user namespace apply to...',
      choices: [
        'resources owned by that user namespace (its own mounts, network, hostname)',
        'the whole host',
        'nothing at all',
      ],
      answer: 0,
      why: 'Root in a user namespace is privileged over the namespaces that user namespace owns, not over the host. That is what makes rootless containers safe.',
    },
    {
      prompt: 'Which of these is the docker equivalent?',
      choices: ['--privileged', '--userns-remap / rootless docker', '--pid=host', '--network none'],
      answer: 1,
      why: 'userns-remap and rootless mode run containers whose root is mapped to an unprivileged host uid, exactly as in this lesson.',
    },
  ],
});
