/**
 * What the init needs from lib/capabilities and lib/seccomp: capability numbers, and a seccomp program.
 * (Wired to those modules when they land; until then a plan that asks for either fails with this reason.)
 */
import { InitError } from './execute.ts';

export function capabilityNumber(name: string): number {
  throw new InitError(`capabilities are not available in this init yet (${name})`, 125, 'capset');
}

export function lastCapability(): number {
  return 40;
}

export function seccompProgram(profile: string): Uint8Array {
  throw new InitError(`seccomp is not available in this init yet (${profile})`, 125, 'seccomp');
}
