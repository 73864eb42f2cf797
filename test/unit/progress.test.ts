import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { invokingOwner, markCompleted, readProgress } from '../../lib/progress.ts';

describe('lesson progress', () => {
  it('remembers completed lessons between runs', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'progress-')), 'p.json');
    expect(readProgress(file).completed).toEqual({});
    markCompleted('01', { file, env: {}, now: new Date('2026-01-01T00:00:00Z') });
    markCompleted('02', { file, env: {} });
    expect(Object.keys(readProgress(file).completed)).toEqual(['01', '02']);
    expect(readProgress(file).completed['01']).toBe('2026-01-01T00:00:00.000Z');
  });

  it('a corrupt file reads as no progress instead of crashing the runner', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'progress-')), 'p.json');
    fs.writeFileSync(file, '{not json');
    expect(readProgress(file).completed).toEqual({});
  });

  it('only a full SUDO_UID/SUDO_GID pair counts as an invoking user', () => {
    expect(invokingOwner({ SUDO_UID: '1000', SUDO_GID: '1000' })).toEqual({ uid: 1000, gid: 1000 });
    expect(invokingOwner({ SUDO_UID: '1000' })).toBeUndefined();
    expect(invokingOwner({})).toBeUndefined();
  });

  it.skipIf(process.getuid?.() !== 0)('under sudo the file is owned by the invoking user, not root', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'progress-')), 'p.json');
    markCompleted('03', { file, env: { SUDO_UID: '1234', SUDO_GID: '2345' } });
    const st = fs.statSync(file);
    expect([st.uid, st.gid]).toEqual([1234, 2345]);
  });
});
