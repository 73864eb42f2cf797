/** Quiz for lesson 07: images. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '07',
  title: 'Images',
  questions: [
    {
      prompt: 'What is in the tar that `docker save` writes?',
      choices: [
        'A disk image with a partition table',
        'manifest.json, a JSON config, and one tar per layer',
        'A single executable',
        'A snapshot of a running container',
      ],
      answer: 1,
      why: 'manifest.json names the config and the layer tars, bottom first. Docker 25+ writes the same as an OCI layout (index.json, blobs/sha256/…) with a manifest.json beside it.',
    },
    {
      prompt: 'Why does loading the same image from its OCI layout, after its docker save tar, unpack nothing?',
      choices: [
        'ctr remembers the file names it loaded',
        'The store keeps each layer under its diff_id — the sha256 of the uncompressed tar — and both formats carry the same tars',
        'OCI layouts hold no layers',
      ],
      answer: 1,
      why: 'Content addressing: the same bytes have the same digest, so a layer is one directory however many images or formats bring it. The OCI blob is gzip (another digest), but its diff_id is the same.',
    },
    {
      prompt: 'A layer tar holds `srv/app/.wh..wh..opq`. What does unpacking make of it?',
      choices: [
        'A file named .wh..wh..opq in /srv/app',
        'It deletes /srv/app',
        'The xattr trusted.overlay.opaque=y on srv/app: nothing of the lower layers’ /srv/app shows through',
      ],
      answer: 2,
      why: "Tar markers become overlayfs's own: `.wh.NAME` a 0/0 character device, `.wh..wh..opq` an opaque directory (layerEntryAction, the lesson's exercise).",
    },
    {
      prompt: 'The config says `User: "learner"`. Where does the runtime find its uid and gid?',
      choices: [
        "In the host's /etc/passwd",
        "In the image's own /etc/passwd and /etc/group, read inside its layers",
        'It always runs as root',
      ],
      answer: 1,
      why: "The host may have no such user, or give the name another number. The lesson read uid 1000, gid 1000 and group 50 (staff) on the container's process, from the host.",
    },
    {
      prompt: 'Why can the `sh` init of lessons 02–06 not start scratch/noshell?',
      choices: [
        'The image is too large',
        'After pivot_root, init.sh runs the image’s own umount and needs a shell — the image has neither',
        'Images cannot be started by a script on principle',
      ],
      answer: 1,
      why: 'The TypeScript init runs the same plan from the host’s node, loaded whole before pivot_root, making the system calls itself: it needs nothing from the image.',
    },
    {
      prompt: 'A room of thirty pulls busybox from Docker Hub at once. What does the workshop do about the rate limit?',
      choices: [
        'Nothing',
        'The instructor runs `npm run mirror` (a pull-through cache); learners set SCRATCH_REGISTRY_MIRROR or pass --mirror',
        'Every learner logs in to Docker Hub',
      ],
      answer: 1,
      why: 'Docker Hub counts anonymous pulls per address, and a room shares one. The mirror fetches each image once; lessons 06–07 themselves need no network at all.',
    },
  ],
});
