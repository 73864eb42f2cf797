/** Quiz for lesson 07: images. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '07',
  title: 'Images',
  questions: [
    {
      prompt: 'What is a container image, on disk?',
      choices: [
        'A disk image with a partition table',
        'A list of layer tarballs plus a JSON config, addressed by their sha256 digests',
        'A single executable',
        'A running container that was paused',
      ],
      answer: 1,
      why: 'An image is a manifest naming a config blob and layer blobs by digest. Unpacking the layers in order onto overlay lower directories gives the rootfs.',
    },
    {
      prompt: 'Why are layers stored under their sha256 digest?',
      choices: [
        'So that identical layers are stored once and their content can be verified',
        'Because file names may not contain dots',
        'For compression',
      ],
      answer: 0,
      why: 'Content addressing makes a layer shared by two images one directory on disk, and makes any corruption or tampering visible: the digest would not match.',
    },
    {
      prompt: 'Where do the default command and environment of a container come from?',
      choices: [
        'From the first layer',
        'From /etc/profile in the rootfs',
        "From the image config's Cmd, Entrypoint, Env and WorkingDir",
      ],
      answer: 2,
      why: 'The image config JSON carries Env, Cmd, Entrypoint and WorkingDir; the runtime applies them when it starts the process (and docker run arguments override Cmd).',
    },
    {
      prompt: 'What does `docker save` produce?',
      choices: [
        'A tar with the manifest, the config and the layer tars, which `docker load` reads back',
        'A compressed copy of the running container',
        'A Dockerfile',
      ],
      answer: 0,
      why: 'docker save writes an archive of the image (docker-archive layout, and OCI layout in recent versions). The lesson unpacks exactly such archives, offline.',
    },
  ],
});
