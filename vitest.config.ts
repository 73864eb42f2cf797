import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests run real containers as root and share host resources (the cgroup parent, the bridge),
    // so test files run one after another rather than racing each other.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The second holds the host to what it was before the tests (test/reliability/host-snapshot.ts).
    globalSetup: ['test/global-setup.ts', 'test/reliability/host-snapshot.ts'],
  },
});
