import { describe, expect, it } from 'vitest';
import { parseLessonArgs } from '../../lib/cli/args.ts';
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
    });
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
    expect(() => parseLessonArgs(['01', '--stpe'], true)).toThrow(/bad option: Unknown option '--stpe'/);
    expect(() => parseLessonArgs(['01', '02'], true)).toThrow(/one lesson at a time/);
    expect(() => parseLessonArgs(['01', '--step', '--explain'], true)).toThrow(UserError);
  });
});
