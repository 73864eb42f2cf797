/** Quiz for lesson 01: chroot. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '01',
  title: 'chroot',
  questions: [
    {
      prompt: 'What does chroot change for a process?',
      choices: [
        'Its root directory: where path lookups that start with / begin',
        'Its PID namespace',
        'Its user ID',
        'Its hostname',
      ],
      answer: 0,
      why: 'chroot only changes the root directory used to resolve absolute paths. Namespaces, users and limits stay exactly as they were.',
    },
    {
      prompt: 'Inside the chroot, with /proc mounted, ps shows...',
      choices: ['only the shell and its children', 'every process on the host', 'nothing: ps cannot work in a chroot'],
      answer: 1,
      why: 'chroot does not create a PID namespace, so the shell still sees every host process. Lesson 03 fixes that.',
    },
    {
      prompt: 'Why does /proc/1/root lead out of the chroot?',
      choices: [
        'Because busybox has a bug',
        'Because /proc is a copy of the host filesystem',
        "Because it is a link to PID 1's root directory, which is the host's /",
      ],
      answer: 2,
      why: "/proc/<pid>/root points at that process's root. PID 1 (the host init) has the real /, and root in the chroot may follow the link. Lesson 04 closes this with a mount namespace and pivot_root.",
    },
    {
      prompt: 'Which docker command is the closest to what lesson 01 built?',
      choices: [
        'docker run --rm -it IMAGE sh (but far less isolated)',
        'docker build',
        'docker network create',
        'docker volume create',
      ],
      answer: 0,
      why: 'A shell running in another root filesystem is what docker run looks like from inside. What is missing is every namespace, the cgroup and the security settings.',
    },
  ],
});
