/**
 * When integration tests can run: on Linux, as root. Anywhere else they skip, saying why. In CI (CI=true)
 * a skip would hide a broken lesson, so there it is an error instead.
 */
export function integrationSkipReason(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform}); run them in the workshop VM`;
  if (process.getuid?.() !== 0) return 'not root; run `sudo npm test`';
  return undefined;
}

const reason = integrationSkipReason();
if (reason && process.env.CI === 'true') {
  throw new Error(`integration tests cannot run in CI: ${reason}`);
}

/** `describe.skipIf(!canRunIntegration)` for suites that run real containers. */
export const canRunIntegration = reason === undefined;
