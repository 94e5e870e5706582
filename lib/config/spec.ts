// The parts of the runtime-spec config (config.json) that ocirun reads. spec/config.schema.json is the full
// definition; these types describe a config that has passed it.
import type { SeccompProfile } from '../seccomp/compile';

export type { SeccompProfile };

export interface IDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  /** With the `idmap` or `ridmap` option: the mount's own idmapping (else the container's). */
  uidMappings?: IDMapping[];
  gidMappings?: IDMapping[];
}

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface Process {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  cwd: string;
  env?: string[];
  args: string[];
  /** Absent, or without uid or gid: 0, as runc takes it. */
  user?: { uid?: number; gid?: number; umask?: number; additionalGids?: number[] };
  capabilities?: Partial<Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', string[]>>;
  rlimits?: { type: string; soft: number; hard: number }[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  apparmorProfile?: string;
  selinuxLabel?: string;
  ioPriority?: { class: 'IOPRIO_CLASS_RT' | 'IOPRIO_CLASS_BE' | 'IOPRIO_CLASS_IDLE'; priority?: number };
  scheduler?: {
    policy: string;
    nice?: number;
    priority?: number;
    flags?: string[];
    runtime?: number;
    deadline?: number;
    period?: number;
  };
  execCPUAffinity?: { initial?: string; final?: string };
}

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface Device {
  type: 'c' | 'b' | 'u' | 'p';
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface Linux {
  uidMappings?: IDMapping[];
  gidMappings?: IDMapping[];
  timeOffsets?: Record<string, { secs?: number; nanosecs?: number }>;
  namespaces?: { type: NamespaceType; path?: string }[];
  devices?: Device[];
  cgroupsPath?: string;
  resources?: Record<string, unknown>;
  rootfsPropagation?: string;
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  seccomp?: SeccompProfile;
  personality?: { domain: 'LINUX' | 'LINUX32'; flags?: string[] };
  memoryPolicy?: { mode: string; nodes?: string; flags?: string[] };
  intelRdt?: Record<string, unknown>;
  netDevices?: Record<string, { name?: string }>;
}

export interface Spec {
  ociVersion: string;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  process: Process;
  hooks?: Partial<Record<string, Hook[]>>;
  annotations?: Record<string, string>;
  linux?: Linux;
}
