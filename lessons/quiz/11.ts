/** Quiz for lesson 11: security. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '11',
  title: 'Security',
  questions: [
    {
      prompt:
        'The chroot escape (mkdir, chroot into it, climb "..", chroot(".")) works in a chroot. Why not in the container?',
      choices: [
        'The container has no mkdir',
        'pivot_root detached the host’s root from the container’s mount tree: ".." ends at the container’s own root',
        'The kernel forbids ".." in containers',
        'The escape needs a network',
      ],
      answer: 1,
      why: 'chroot only changes where "/" resolves, and ".." stops only at that root; a working directory left outside climbs past it. After pivot_root and detaching the old root, there is no host tree above to climb to. Without CAP_SYS_CHROOT the first chroot(2) fails anyway.',
    },
    {
      prompt: 'Why drop capabilities when the container already has its own namespaces?',
      choices: [
        'Namespaces do not cover everything: with CAP_SYS_ADMIN, CAP_SYS_TIME or CAP_SYS_MODULE, root inside still reaches the kernel and the host',
        'To make the container faster',
        'Capabilities only matter for networking',
      ],
      answer: 0,
      why: 'Without a user namespace, root in a container is host root minus what you drop. The lesson showed mount and settimeofday allowed with every capability, refused (EPERM) with docker’s 14.',
    },
    {
      prompt: 'docker keeps 14 capabilities. In which sets?',
      choices: [
        'All five sets, ambient included',
        'Bounding, permitted and effective; inheritable and ambient stay empty',
        'Only the effective set',
      ],
      answer: 1,
      why: 'Inheritable is empty on purpose since CVE-2022-24769: a non-empty one let a program with inheritable file capabilities gain them. A user other than root gets only the bounding set. The init drops the bounding set first, then capset, then clears ambient.',
    },
    {
      prompt:
        'CAP_MKNOD is one of docker’s 14, so root in a container can make a node for the host’s disk. What stops it from reading the disk?',
      choices: [
        'Nothing: that is why docker drops MKNOD',
        'The device cgroup: mknod of any node is allowed, but opening one outside the short list (null, zero, urandom, the terminals…) fails with EPERM',
        'The container’s /dev is read-only',
      ],
      answer: 1,
      why: 'The kernel checks every open and mknod of a device node against the caller’s cgroup. On cgroup v1 the runtime writes the rules into devices.deny and devices.allow; v2 has no such files, so a BPF program attached to the cgroup answers instead. The lesson’s kit made the node in both containers; only the one with docker’s rules got EPERM on open.',
    },
    {
      prompt:
        'A service runs as uid 65534 and finds a setuid-root program in the image. What does no_new_privs change?',
      choices: [
        'Nothing: setuid programs always run as root',
        'The program still runs, but execve grants nothing: it stays uid 65534, with no capabilities',
        'The program cannot be executed at all',
      ],
      answer: 1,
      why: 'Without no_new_privs the lesson’s setuid copy ran with euid 0 and docker’s 14 capabilities. With it (inherited, never unset), execve ignores setuid bits and file capabilities.',
    },
    {
      prompt: 'Why are /proc/kcore, /proc/timer_list or /sys/firmware masked, and /proc/sys made read-only?',
      choices: [
        'They are too big to list',
        'They show or change the whole machine, and no namespace isolates them',
        'busybox cannot read them',
      ],
      answer: 1,
      why: 'As runc does, /dev/null is bound over a masked file and an empty read-only tmpfs over a directory; /proc/sys is bound onto itself read-only, so a write fails with EROFS.',
    },
    {
      prompt:
        'A 64-bit process makes a system call through the 32-bit entry (int 0x80). What does docker’s seccomp filter do?',
      choices: [
        'Allows it: the number is the same',
        'Kills the process: the filter checks the architecture first, since numbers mean other calls there',
        'Returns ENOSYS',
      ],
      answer: 1,
      why: 'On i386, 20 is getpid; on x86_64 it is another call. A filter that matched only numbers could be fooled, so the first instructions compare seccomp_data.arch and end in KILL_PROCESS: the lesson saw SIGSYS, exit 159.',
    },
    {
      prompt:
        'A parent left fd 7 (the host’s /) open. Why could a plain unshare … chroot read host files, but not the container?',
      choices: [
        'The container has no /proc',
        'The TypeScript init marks every fd from 3 up close-on-exec before execve: the command starts with 0, 1 and 2 only',
        'chroot closes file descriptors',
      ],
      answer: 1,
      why: 'An open directory fd survives execve and openat() from it ignores the process’s root: runc’s CVE-2024-21626. The init had fd 7 (the host saw it at the sync point); its command did not.',
    },
    {
      prompt: 'Which docker options map to this lesson?',
      choices: [
        '--cap-drop/--cap-add, --security-opt no-new-privileges, --read-only --tmpfs, --security-opt seccomp=…',
        '--memory, --cpus',
        '-p, --network',
        '--hostname',
      ],
      answer: 0,
      why: 'docker applies 14 capabilities, masked paths and its seccomp profile to every container; the flags change the list, add no_new_privs, make the root read-only with a tmpfs where needed, or switch the filter off.',
    },
  ],
});
