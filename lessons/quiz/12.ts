/** Quiz for lesson 12: the capstone — ctr as a whole, an OCI bundle run by runc, docker's flags as a spec. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '12',
  title: 'Capstone: ctr, a small docker made of the lessons',
  questions: [
    {
      prompt: '`ctr run -d -m 64m -p 8080:8000 scratch/layers httpd …`: where does the host show the -m 64m?',
      choices: [
        'In the container’s /etc/docker.conf',
        'In the container’s cgroup file: memory.limit_in_bytes (v1) or memory.max (v2), 67108864',
        'Nowhere: the limit lives inside the ctr process',
      ],
      answer: 1,
      why: 'Each flag is an earlier lesson’s lib call: -m is lesson 05’s cgroup write. The lesson reads the file under /sys/fs/cgroup/…/scratch/<id> from the host.',
    },
    {
      prompt: 'What does `ctr ps` read to list containers?',
      choices: [
        'The kernel’s table of containers',
        'The state files under /run/scratch/<id>/state.json (PID and its start time)',
        'A daemon’s memory',
      ],
      answer: 1,
      why: 'The kernel has no notion of a container. A runtime keeps its own state per container, as runc does under /run/runc; the start time keeps a reused PID from passing for the container.',
    },
    {
      prompt: '`ctr stop -t 1` of busybox httpd took a second and the exit code was 137. Why?',
      choices: [
        'httpd crashed',
        'httpd has no SIGTERM handler, and the kernel does not deliver such a signal to a PID namespace’s init; SIGKILL came after the grace period (128 + 9)',
        'ctr always sends SIGKILL',
      ],
      answer: 1,
      why: 'PID 1 of a namespace ignores signals it has no handler for (lesson 10). stop is SIGTERM, wait, SIGKILL — like docker stop.',
    },
    {
      prompt: 'Why can runc run the container ctr exported?',
      choices: [
        'ctr copies runc’s code',
        'ctr’s spec follows the OCI runtime spec’s field names, so export-bundle writes config.json and rootfs/: a bundle any OCI runtime runs',
        'runc reads ctr’s state files',
      ],
      answer: 1,
      why: 'The OCI runtime spec is the contract between docker/containerd and runc. lib/oci.ts writes config.json; the layers and the upper dir are flattened into rootfs/.',
    },
    {
      prompt:
        'The probe ran as learner (uid 1000) under ctr and under runc. Both showed CapEff 0 though config.json lists 14 effective capabilities. Why?',
      choices: [
        'Both runtimes forgot the capabilities',
        'The kernel clears the permitted and effective sets when a process that is not uid 0 calls execve (no file capabilities, no ambient set)',
        'seccomp hides them',
      ],
      answer: 1,
      why: 'That is why the lesson compares as root too: with -u 0 the 14 capabilities survive execve and both runtimes show them — the same, fact by fact.',
    },
    {
      prompt: 'What does the exercise’s specFromOptions take and return?',
      choices: [
        'The command line as a string; a running container',
        'docker run’s flags as plain data (RunOptions); a container spec built with the lessons’ transforms — nothing is created',
        'A container id; its state file',
      ],
      answer: 1,
      why: 'Pure planning: runOptions checks the flags and reads what must be read, specFromOptions composes isolatedSpec, withCgroup, withSecurity, … and ctr (or the lesson) then creates the cgroup, root and network and starts it.',
    },
  ],
});
