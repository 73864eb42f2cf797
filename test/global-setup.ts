/**
 * Said once per run: whether the integration tests (real containers, as root) will run or be skipped, and why.
 */
import { integrationSkipReason } from './helpers/env.ts';

export default function setup(): void {
  const reason = integrationSkipReason();
  if (reason) console.log(`\n  integration tests are skipped: ${reason}\n`);
}
