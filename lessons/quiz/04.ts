/** Quiz for lesson 04: mount namespace and pivot_root. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '04',
  title: 'Mount namespace and pivot_root',
  questions: [
    {
      prompt: 'Why make every mount private (mount --make-rprivate /) first?',
      choices: [
        'So that mounts made in the container do not propagate back to the host (and the reverse)',
        'Because pivot_root is faster on private mounts',
        'To hide the container from ps',
      ],
      answer: 0,
      why: 'With shared propagation (systemd makes / shared), a mount inside the new namespace would appear on the host too. Private propagation keeps the two mount tables apart; pivot_root also refuses a shared parent.',
    },
    {
      prompt: 'What does pivot_root do that chroot does not?',
      choices: [
        'It also changes the hostname',
        'It swaps the root mount of the mount namespace, so the old root can be unmounted',
        'It copies the rootfs to memory',
      ],
      answer: 1,
      why: 'pivot_root makes the new root the root mount and moves the old root under it. After `umount -l` of the old root, the host filesystem is no longer reachable from inside at all.',
    },
    {
      prompt: 'Why must the new root be a mount point (often a bind mount of itself)?',
      choices: ['pivot_root(2) requires new_root to be a mount point', 'For speed', 'So that docker can find it'],
      answer: 0,
      why: 'pivot_root requires new_root to be a mount point; `mount --bind rootfs rootfs` turns a plain directory into one.',
    },
    {
      prompt: 'After pivot_root and unmounting the old root, the lesson 01 escape through /proc/1/root...',
      choices: ['still works', 'fails: there is no path back to the host filesystem', 'crashes the kernel'],
      answer: 1,
      why: 'With a PID namespace, PID 1 is the container shell; with the old root unmounted, nothing in the mount namespace leads back to the host /.',
    },
  ],
});
