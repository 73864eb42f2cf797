/**
 * The optional Debian rootfs (`npm run rootfs -- debian`): the namespace and cgroup lessons pass on it too, so
 * `--rootfs` really is "any rootfs", not "busybox only". CI builds it first; elsewhere the suite runs only
 * when it has been built.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import lesson03 from '../../lessons/03-pid-namespace.ts';
import lesson04 from '../../lessons/04-mount-pivot-root.ts';
import lesson05 from '../../lessons/05-cgroups.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { ROOTFS_ROOT } from '../../lib/names.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest } from '../helpers/lesson.ts';

const DEBIAN = path.join(ROOTFS_ROOT, 'debian');
const built = fs.existsSync(path.join(DEBIAN, 'etc', 'debian_version'));
if (canRunIntegration && !built && process.env.CI === 'true') {
  throw new Error(`CI must build the Debian rootfs first (npm run rootfs -- debian): ${DEBIAN} is missing`);
}

describe.skipIf(!canRunIntegration || !built)('lessons on the Debian rootfs', () => {
  it('lesson 03: PID 1 inside, only the container in ps', async () => {
    const r = await runLessonForTest(lesson03, { rootfs: DEBIAN });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('lesson 04: pivot_root, and the escapes that need no busybox fail', async () => {
    const r = await runLessonForTest(lesson04, { rootfs: DEBIAN });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.state.nestedChrootSkipped).toContain('no /bin/busybox');
  });

  it('lesson 05: OOM kill, fork bomb (dash says "Cannot fork") and CPU quota', async () => {
    const r = await runLessonForTest(lesson05, { rootfs: DEBIAN });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(await leftoversOf(r.id)).toEqual([]);
  });
});
