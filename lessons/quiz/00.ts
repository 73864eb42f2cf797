/** Quiz for lesson 00: a container is a process. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '00',
  title: 'A container is a process',
  questions: [
    {
      prompt: 'What does the Linux kernel know about a "container"?',
      choices: [
        'It has a container object with an ID, like a process has a PID',
        'Nothing by that name: there are processes, their namespaces and their cgroups',
        'Only what the container runtime registers through a special system call',
      ],
      answer: 1,
      why: 'There is no container object in the kernel. A container is an ordinary process whose namespace links, cgroup and root directory differ from the host.',
    },
    {
      prompt: 'Where do you see which namespaces a process is in?',
      choices: ['/proc/<pid>/ns', '/sys/kernel/namespaces', '/etc/namespaces', '/proc/<pid>/status only'],
      answer: 0,
      why: '/proc/<pid>/ns holds one link per namespace kind; the number in brackets identifies the namespace. Two processes with the same number share that namespace.',
    },
    {
      prompt: 'The sleep started by lesson 00 showed the same namespace numbers as the runner. What does that mean?',
      choices: [
        'The lesson failed to read the links',
        'Both processes are already in a container',
        'The sleep shares every namespace with its parent, so it is not isolated at all',
      ],
      answer: 2,
      why: 'A child inherits its parent namespaces unless it is asked to create new ones. Same numbers, same view of hostname, PIDs, mounts and network.',
    },
    {
      prompt: 'Which file says where a process sits in the cgroup tree?',
      choices: ['/proc/<pid>/limits', '/proc/<pid>/cgroup', '/sys/fs/cgroup/<pid>', '/proc/<pid>/ns/cgroup'],
      answer: 1,
      why: '/proc/<pid>/cgroup lists the cgroup path of the process (one line per hierarchy on cgroup v1, one line on v2). ns/cgroup is the cgroup *namespace*, which only changes how those paths look.',
    },
  ],
});
