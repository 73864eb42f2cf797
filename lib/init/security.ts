/**
 * What the init needs from lib/capabilities and lib/seccomp, by the names an init plan uses: a capability's number,
 * the highest one this kernel has, and the BPF program of a seccomp profile for this machine's architecture.
 */
import os from 'node:os';
import { capabilityNumber as numberOf, readCapLastCap, type CapabilityName } from '../capabilities.ts';
import { buildSeccompProgram, defaultSeccompProfile, hostSeccompArch } from '../seccomp/index.ts';
import { InitError } from './execute.ts';

export function capabilityNumber(name: string): number {
  return numberOf(name as CapabilityName);
}

export function lastCapability(): number {
  return readCapLastCap();
}

/** The profiles a spec may name: docker's default (the only one, so far). */
export function seccompProgram(profile: string): Uint8Array {
  if (profile !== 'default') throw new InitError(`unknown seccomp profile: ${profile}`, 125, 'seccomp');
  return buildSeccompProgram(defaultSeccompProfile({ kernelRelease: os.release() }), hostSeccompArch());
}
