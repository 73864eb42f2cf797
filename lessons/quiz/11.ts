/** Quiz for lesson 11: security. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '11',
  title: 'Security',
  questions: [
    {
      prompt: 'Why drop capabilities when the container already has its own namespaces?',
      choices: [
        'Namespaces do not cover everything: with CAP_SYS_ADMIN or CAP_SYS_MODULE, root inside can still reach the kernel and the host',
        'To make the container faster',
        'Capabilities only matter for networking',
      ],
      answer: 0,
      why: 'Root in a container (without a user namespace) is host root minus what you drop. Loading a kernel module or remounting things does not care about namespaces.',
    },
    {
      prompt: 'What does no_new_privs prevent?',
      choices: ['Creating files', 'Gaining privileges through exec, e.g. from setuid binaries', 'Using the network'],
      answer: 1,
      why: 'With no_new_privs set, execve can never grant more privileges than the caller had: setuid bits and file capabilities are ignored. It is inherited and cannot be unset.',
    },
    {
      prompt: 'Why are paths like /proc/kcore or /proc/sysrq-trigger masked?',
      choices: [
        'They are too big to list',
        'They give access to kernel memory or host-wide actions that no namespace isolates',
        'busybox cannot read them',
      ],
      answer: 1,
      why: 'procfs exposes some host-wide controls. Runtimes bind-mount /dev/null over them or remount them read-only.',
    },
    {
      prompt: 'Which docker options map to this lesson?',
      choices: [
        '--cap-drop, --read-only, --security-opt no-new-privileges',
        '--memory, --cpus',
        '-p, --network',
        '--hostname',
      ],
      answer: 0,
      why: 'docker drops most capabilities by default; --cap-drop removes more, --read-only mounts the root read-only and --security-opt no-new-privileges sets the flag.',
    },
  ],
});
