/** Quiz for lesson 09: the user namespace. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '09',
  title: 'User namespace',
  questions: [
    {
      prompt: 'In the rootless container, `id` says uid 0. What does the host see for the same process?',
      choices: ['uid 0 as well', 'nobody (65534), always', 'The uid that uid_map maps 0 to: the user who started it'],
      answer: 2,
      why: '/proc/<pid>/uid_map lines up ids inside with ids outside (`0 1000 1`). The lesson read the Uid line of /proc/<pid>/status on the host: the user, in all four fields.',
    },
    {
      prompt: '`unshare --user sh` with no map yet: who is the shell, and what may it do?',
      choices: [
        'Root, with every capability',
        'uid 65534 (the overflow id), with no capability: it was exec’d with no map for its uid',
        'Whoever ran it, with their usual rights inside the namespace',
      ],
      answer: 1,
      why: 'An unmapped id shows as 65534, and a program exec’d in a user namespace keeps capabilities only as root there. That is why the maps are written while the launcher waits, before the init starts.',
    },
    {
      prompt: 'Why must an unprivileged user write `deny` to /proc/<pid>/setgroups before gid_map?',
      choices: [
        'So root inside cannot drop a group with setgroups(2) and read files that group is denied',
        'Because gid_map is read-only until then for everyone',
        'To save memory in the kernel',
      ],
      answer: 0,
      why: 'A file mode like 0604 shuts out one group. Without deny, root inside could drop that supplementary group and read it as "others". Root and newgidmap (with /etc/subgid) may leave setgroups allowed.',
    },
    {
      prompt: 'Root inside the rootless container tries four things. Which one works?',
      choices: [
        'Read the host’s /etc/shadow bound in',
        'Set the hostname of its own UTS namespace',
        'Load a kernel module',
        'Set the clock',
      ],
      answer: 1,
      why: 'Capabilities in a user namespace count for what it owns: its UTS namespace is its own. The host’s files (owner unmapped, seen as 65534), modules and the clock belong to the host’s user namespace.',
    },
    {
      prompt: 'With only the user’s own id mapped, writing a file an image’s uid 1000 owns fails with EOVERFLOW. Why?',
      choices: [
        'The file is too big for the overlay',
        'The overlay copy-up must keep the owner, uid 1000, which has no name in that namespace',
        'Rootless containers may never write to their root',
      ],
      answer: 1,
      why: 'Copy-up copies the file into the upper dir and chowns it to its owner. With `1 100000 65536` from /etc/subuid (newuidmap), uid 1000 is host uid 100999, and the copy works.',
    },
    {
      prompt: 'Why did the rootless container get no memory or pids limit?',
      choices: [
        'cgroups are root’s files: a user can make none unless systemd delegates a cgroup v2 subtree to them',
        'User namespaces turn cgroups off',
        'It did get them, silently',
      ],
      answer: 0,
      why: 'The user’s mkdir in the cgroup tree was refused. Rootless docker and podman get limits only with cgroup v2 delegation (user@.service, Delegate=yes); ctr run --userns, started by root, still sets them.',
    },
  ],
});
