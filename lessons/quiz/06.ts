/** Quiz for lesson 06: overlay layers. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '06',
  title: 'Overlay layers',
  questions: [
    {
      prompt:
        'The container appends one line to /etc/profile, which came from the lower layer. What is in its upper dir?',
      choices: [
        'Only the new line, as a patch',
        'The whole file: copied up first, then the line added to the copy',
        'Nothing: the lower file was edited in place',
        'A whiteout for /etc/profile',
      ],
      answer: 1,
      why: 'overlayfs copies a lower file up whole before the first write to it (the lesson showed 76 bytes below, 110 in upper). The lower layer never changes.',
    },
    {
      prompt:
        'The container deletes /etc/os-release, a file of the lower layer. What does the host find in the upper dir?',
      choices: [
        'Nothing: the file is gone from the lower layer',
        'A character device with device number 0, 0 named os-release: a whiteout that hides the lower file',
        'An empty file named .wh.os-release',
      ],
      answer: 1,
      why: 'On disk overlayfs marks a deletion with a 0/0 character device. `.wh.os-release` is how a layer *tar* says the same thing (lesson 07 turns one into the other).',
    },
    {
      prompt: 'A second container starts from the same rootfs. Why does it not see the first one’s files?',
      choices: [
        'The first container cleaned up after itself',
        'It has an upper directory of its own, empty; the shared lower layer was never written to',
        'The kernel copies the rootfs for every container',
      ],
      answer: 1,
      why: 'Every `docker run` is a new container with a new, empty upper layer over the same read-only layers: that is why a container "forgets".',
    },
    {
      prompt: 'With `lowerdir=a:b:rootfs`, layers a and b both have /etc/motd. Which one does the container see?',
      choices: [
        "a's: the leftmost lower directory is on top",
        "b's: the last one listed wins",
        'Both, merged line by line',
      ],
      answer: 0,
      why: 'A name is looked up from the left; the first layer that has it wins. Directories of the same name merge; files do not.',
    },
    {
      prompt: 'Why must the work directory be on the same filesystem as the upper directory?',
      choices: [
        'overlayfs prepares each copy-up in work, then renames it into upper — and rename(2) only works within one filesystem',
        'Because work holds a backup of upper',
        'It does not have to',
      ],
      answer: 0,
      why: 'The rename makes a copy-up atomic. The lesson also showed upper refused on an overlay: an overlay cannot be the upper layer of another (docker-in-docker needs a volume).',
    },
    {
      prompt: 'What is `docker commit`, in overlay terms?',
      choices: [
        'Copying the whole merged view into a new image',
        'The upper directory frozen as a new read-only layer on top of the image’s layers',
        'Restarting the container',
      ],
      answer: 1,
      why: "The upper directory is exactly the container's diff (what `docker diff` lists). The lesson copied it into a new layer; a new container started from it with every change and an empty upper of its own.",
    },
  ],
});
