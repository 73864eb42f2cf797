import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findLessonFile, listLessonFiles, loadLesson, normalizeLessonNumber } from '../../lib/discovery.ts';

describe('lesson discovery', () => {
  it('finds NN-name.ts files in number order and ignores everything else', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-'));
    for (const f of ['10-nsenter.ts', '02-uts.ts', '00-process.ts', 'README.md', '3-bad.ts', '04-x.test.ts']) {
      fs.writeFileSync(path.join(dir, f), '');
    }
    fs.mkdirSync(path.join(dir, 'quiz'));
    expect(listLessonFiles(dir).map((f) => f.number)).toEqual(['00', '02', '10']);
    fs.rmSync(dir, { recursive: true });
  });

  it('accepts 5, 05 and 05-cgroups for the same lesson', () => {
    expect(normalizeLessonNumber('5')).toBe('05');
    expect(normalizeLessonNumber('05')).toBe('05');
    expect(normalizeLessonNumber('05-cgroups')).toBe('05');
    expect(normalizeLessonNumber('five')).toBeUndefined();
    expect(normalizeLessonNumber('123')).toBeUndefined();
  });

  it('every lesson in lessons/ loads and matches its file name', async () => {
    const files = listLessonFiles();
    expect(files.map((f) => f.number)).toContain('01');
    for (const f of files) {
      const lesson = await loadLesson(f);
      expect(lesson.number).toBe(f.number);
      expect(lesson.steps.length).toBeGreaterThan(0);
      expect(lesson.recap.next).not.toBe('');
    }
    expect(findLessonFile('1')?.slug).toBe('chroot');
    expect(findLessonFile('99')).toBeUndefined();
  });
});
