import { describe, expect, it } from 'vitest';
import { lessonArgv, parseLessonArgs } from '../../lib/cli/args.ts';
import { UserError } from '../../lib/errors.ts';

describe('lesson runner flags', () => {
  it('defaults to run mode with a shell at a terminal', () => {
    expect(parseLessonArgs(['01'], true)).toEqual({
      lesson: '01',
      mode: 'run',
      shell: true,
      rootfs: undefined,
      verbose: false,
      help: false,
      mine: false,
      fromNpm: [],
    });
  });

  it('--mine runs the lesson with the learner’s exercise, and is passed on to the sudo re-run', () => {
    const a = parseLessonArgs(['03', '--mine'], false);
    expect(a.mine).toBe(true);
    expect(lessonArgv(a, '03')).toContain('--mine');
    expect(parseLessonArgs(['03'], false, { npm_lifecycle_event: 'lesson', npm_config_mine: 'true' }).mine).toBe(true);
  });

  it('skips the shell when input is not a terminal, or with --no-shell', () => {
    expect(parseLessonArgs(['01'], false).shell).toBe(false);
    expect(parseLessonArgs(['01', '--no-shell'], true).shell).toBe(false);
  });

  it('--explain and its alias --dry-run select explain mode; --step selects step mode', () => {
    expect(parseLessonArgs(['01', '--explain'], true).mode).toBe('explain');
    expect(parseLessonArgs(['01', '--dry-run'], true).mode).toBe('explain');
    expect(parseLessonArgs(['05', '--step'], true).mode).toBe('step');
  });

  it('takes --rootfs and no lesson (the picker)', () => {
    const a = parseLessonArgs(['--rootfs', '/srv/debian'], true);
    expect(a.lesson).toBeUndefined();
    expect(a.rootfs).toBe('/srv/debian');
  });

  it('turns a mistyped flag into one clear line, not a stack trace', () => {
    expect(() => parseLessonArgs(['01', '--stpe'], true)).toThrow(UserError);
    expect(() => parseLessonArgs(['01', '--stpe'], true)).toThrow(/^unknown option --stpe \(did you mean --step\?\)$/);
    expect(() => parseLessonArgs(['01', '02'], true)).toThrow(/one lesson at a time/);
    expect(() => parseLessonArgs(['01', '--step', '--explain'], true)).toThrow(UserError);
  });

  it("an unknown flag is named in balanced words, with the options that exist (not Node's parser text)", () => {
    const err = (() => {
      try {
        parseLessonArgs(['01', '--bogus'], true);
      } catch (e) {
        return e as UserError;
      }
    })();
    expect(err?.message).toBe('unknown option --bogus');
    expect(err?.fix).toContain('--step, --explain');
    for (const text of [err?.message ?? '', err?.fix ?? '']) {
      expect(text.split("'").length % 2, text).toBe(1);
      expect(text.split('"').length % 2, text).toBe(1);
    }
    expect(() => parseLessonArgs(['05', '--rootfs'], true)).toThrow(/^--rootfs needs a directory$/);
  });
});

describe('flags written before -- (npm keeps them, as npm_config_*)', () => {
  const npm = (vars: Record<string, string>) => ({ npm_lifecycle_event: 'lesson', ...vars });

  it('npm run lesson 01 --explain is explained, never run for real', () => {
    const a = parseLessonArgs(['01'], true, npm({ npm_config_explain: 'true' }));
    expect(a.mode).toBe('explain');
    expect(a.fromNpm).toEqual(['--explain']);
    expect(parseLessonArgs(['01'], true, npm({ npm_config_dry_run: 'true' })).mode).toBe('explain');
  });

  it('npm run lesson 03 --step pauses; --no-shell and --verbose are honoured too', () => {
    const a = parseLessonArgs(['03'], true, npm({ npm_config_step: 'true', npm_config_shell: 'false' }));
    expect(a).toMatchObject({ mode: 'step', shell: false, fromNpm: ['--step', '--no-shell'] });
    expect(parseLessonArgs(['03'], true, npm({ npm_config_loglevel: 'verbose' })).verbose).toBe(true);
  });

  it('npm run lesson 05 --rootfs DIR: npm keeps --rootfs and passes DIR on as if it were a lesson', () => {
    const a = parseLessonArgs(['05', '/srv/minbase'], true, npm({ npm_config_rootfs: 'true' }));
    expect(a).toMatchObject({ lesson: '05', rootfs: '/srv/minbase', fromNpm: ['--rootfs'] });
    expect(parseLessonArgs(['05'], true, npm({ npm_config_rootfs: '/srv/x' })).rootfs).toBe('/srv/x');
  });

  it('only under npm run lesson: the same variables elsewhere change nothing', () => {
    const a = parseLessonArgs(['01'], true, { npm_config_explain: 'true', npm_lifecycle_event: 'test' });
    expect(a).toMatchObject({ mode: 'run', fromNpm: [] });
  });

  it('the sudo re-run gets the chosen lesson and every parsed flag explicitly', () => {
    const a = parseLessonArgs([], true, npm({ npm_config_step: 'true' }));
    expect(lessonArgv(a, '02')).toEqual(['02', '--step', '--shell']);
    const b = parseLessonArgs(['05', '--explain', '--rootfs', '/r', '-v'], false);
    expect(lessonArgv(b, '05')).toEqual(['05', '--explain', '--no-shell', '--rootfs', '/r', '--verbose']);
  });
});
