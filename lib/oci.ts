/**
 * A container spec as an OCI runtime bundle's `config.json`: what runc, crun and youki read.
 *
 * The Open Container Initiative's runtime spec is the contract between docker (or podman, or Kubernetes) and the
 * low-level runtime that actually makes the container: a directory (the bundle) holding `config.json` and the
 * root filesystem. Our spec already uses its field names, so the conversion is mostly a copy — plus the few
 * things a real runtime insists on that ours does implicitly: a root path relative to the bundle, the complete
 * capability sets (an absent set means *no* capabilities to runc, where for us it means "as the caller has"), and
 * a device cgroup rule that allows the devices the container is given (runc 1.1 cannot even reopen /dev/null
 * without it). Lesson 12 exports a container this way and runs it under runc to compare the two runtimes.
 */
import fs from 'node:fs';
import { capabilitiesFromHex } from './capabilities.ts';
import type { DeviceRule } from './cgroups/device-rules.ts';
import { toOciSeccomp } from './seccomp/oci.ts';
import { defaultSeccompProfile } from './seccomp/profile.ts';
import { hostSeccompArch } from './seccomp/syscalls.ts';
import type { OciSeccomp } from './seccomp/oci.ts';
import type { ContainerSpec } from './spec.ts';

export const OCI_VERSION = '1.0.2';

/** OCI `linux.resources.devices[]`: the spec's own rules have exactly this shape (lib/cgroups/device-rules.ts). */
export type OciDeviceRule = DeviceRule;

export interface OciConfig {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: {
      bounding: string[];
      effective: string[];
      inheritable: string[];
      permitted: string[];
      ambient: string[];
    };
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: Array<{ destination: string; type: string; source: string; options?: string[] }>;
  linux: {
    namespaces: Array<{ type: string; path?: string }>;
    devices: Array<{
      path: string;
      type: string;
      major: number;
      minor: number;
      fileMode: number;
      uid: number;
      gid: number;
    }>;
    resources: {
      devices: OciDeviceRule[];
      memory?: { limit: number; swap?: number };
      pids?: { limit: number };
      cpu?: { quota: number; period: number };
    };
    cgroupsPath?: string;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    seccomp?: OciSeccomp;
    uidMappings?: Array<{ containerID: number; hostID: number; size: number }>;
    gidMappings?: Array<{ containerID: number; hostID: number; size: number }>;
  };
}

export interface OciOptions {
  /** root.path in config.json: relative to the bundle directory (default `rootfs`). */
  rootPath?: string;
  /**
   * The capabilities a spec without any means: whoever starts it keeps theirs (default: this process's permitted
   * set, from /proc/self/status — on some hosts root lacks one, and runc refuses to grant what it does not have).
   */
  callerCapabilities?: string[];
}

/** This process's permitted capabilities, by name. */
export function ownCapabilities(): string[] {
  const line = fs
    .readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('CapPrm:'));
  return capabilitiesFromHex(line?.split(':')[1]?.trim() ?? '0');
}

/** The OCI config.json object for a spec. Pure, apart from reading this process's capabilities by default. */
export function toOciConfig(spec: ContainerSpec, opts: OciOptions = {}): OciConfig {
  const all = spec.process.capabilities ? [] : (opts.callerCapabilities ?? ownCapabilities());
  const caps = spec.process.capabilities ?? {
    bounding: all,
    effective: all,
    inheritable: [],
    permitted: all,
    ambient: [],
  };
  const user = spec.process.user ?? { uid: 0, gid: 0 };
  const seccomp = spec.linux.seccomp ? toOciSeccomp(defaultSeccompProfile(), [hostSeccompArch()]) : undefined;
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: spec.process.terminal ?? false,
      user: {
        uid: user.uid,
        gid: user.gid,
        ...(user.additionalGids?.length ? { additionalGids: user.additionalGids } : {}),
      },
      args: [...spec.process.args],
      env: [...spec.process.env],
      cwd: spec.process.cwd,
      capabilities: {
        bounding: [...caps.bounding],
        effective: [...caps.effective],
        inheritable: [...caps.inheritable],
        permitted: [...caps.permitted],
        ambient: [...caps.ambient],
      },
      noNewPrivileges: spec.process.noNewPrivileges ?? false,
    },
    root: { path: opts.rootPath ?? 'rootfs', readonly: spec.root.readonly ?? false },
    ...(spec.hostname !== undefined ? { hostname: spec.hostname } : {}),
    mounts: spec.mounts.map((m) => ({
      destination: m.destination,
      type: m.type,
      source: m.source,
      ...(m.options ? { options: [...m.options] } : {}),
    })),
    linux: {
      namespaces: spec.linux.namespaces.map((n) => ({ type: n.type, ...(n.path ? { path: n.path } : {}) })),
      devices: spec.linux.devices.map((d) => ({ ...d, uid: 0, gid: 0 })),
      resources: {
        // A spec without rules of its own (lessons 02–10): deny every device, then allow those it is given. The
        // spec's rules (withDeviceRules, every ctr container) replace these below.
        devices: [
          { allow: false, access: 'rwm' },
          ...spec.linux.devices.map((d) => ({
            allow: true,
            type: d.type,
            major: d.major,
            minor: d.minor,
            access: 'rwm',
          })),
          { allow: true, type: 'c', major: 136, access: 'rwm' }, // /dev/pts/*
          { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
        ],
        ...spec.linux.resources,
      },
      ...(spec.linux.cgroupsPath ? { cgroupsPath: spec.linux.cgroupsPath } : {}),
      ...(spec.linux.maskedPaths?.length ? { maskedPaths: [...spec.linux.maskedPaths] } : {}),
      ...(spec.linux.readonlyPaths?.length ? { readonlyPaths: [...spec.linux.readonlyPaths] } : {}),
      ...(seccomp ? { seccomp } : {}),
      // With a user namespace (ctr run --userns), runc writes these maps itself, as root.
      ...(spec.linux.uidMappings?.length ? { uidMappings: spec.linux.uidMappings.map((m) => ({ ...m })) } : {}),
      ...(spec.linux.gidMappings?.length ? { gidMappings: spec.linux.gidMappings.map((m) => ({ ...m })) } : {}),
    },
  };
}
