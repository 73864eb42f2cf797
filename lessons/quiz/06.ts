/** Quiz for lesson 06: overlay layers. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '06',
  title: 'Overlay layers',
  questions: [
    {
      prompt: 'In an overlay mount, where does a write from the container land?',
      choices: [
        'In the lowest lower directory',
        'In the upper directory',
        'In the work directory',
        'Nowhere: overlay is read-only',
      ],
      answer: 1,
      why: 'Lower directories are never modified. A write copies the file up into upperdir first; workdir is scratch space overlayfs needs on the same filesystem as upperdir.',
    },
    {
      prompt: 'How does overlay show that a file from a lower layer was deleted?',
      choices: [
        'It deletes it from the lower layer',
        'It keeps a list in the work directory',
        'It puts a whiteout (a 0/0 character device) with that name in the upper directory',
      ],
      answer: 2,
      why: 'A whiteout in upper hides the lower file. Image layers carry deletions the same way (as .wh.<name> files in the tar).',
    },
    {
      prompt: 'The container is restarted with a fresh, empty upper directory. What happened to its changes?',
      choices: [
        'They are gone; the image layers are untouched',
        'They were merged into the lower layer',
        'They are in the work directory',
      ],
      answer: 0,
      why: 'That is why `docker run` twice starts clean: every container gets a new upper layer over the same read-only image layers.',
    },
    {
      prompt: 'What is `docker commit`, in overlay terms?',
      choices: [
        'Copying the whole merged view into a new image',
        'Saving the upper directory as a new layer on top of the image layers',
        'Restarting the container',
      ],
      answer: 1,
      why: "The upper directory is exactly the container's diff (what `docker diff` lists). Committing packs it as a new layer; the lower layers are shared, not copied.",
    },
  ],
});
