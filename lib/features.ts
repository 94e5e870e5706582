// `ocirun features`: the runtime-spec features document, stating what this build really supports, so that
// callers (containerd enables rro and idmapped mounts from it) never ask for something that is ignored.
import * as fs from 'node:fs';
import { SYSTEM_BUS } from './cgroups/systemd/dbus';
import { FLAG_OPTIONS_NAMES, PROPAGATION } from './config/mounts';
import { CAPABILITIES, MPOL_FLAGS, MPOL_MODES } from './config/process';
import { liveHost } from './config/host';
import { HOOK_KINDS } from './hooks';
import { COMMIT, SPEC_VERSION, VERSION } from './version';

/** --systemd-cgroup works here: systemd runs and its bus is there. */
function systemdUsable(): boolean {
  return fs.existsSync('/run/systemd/system') && fs.existsSync(SYSTEM_BUS);
}

export function features(): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const seccomp = require('./seccomp/compile') as typeof import('./seccomp/compile');
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: SPEC_VERSION,
    hooks: [...HOOK_KINDS],
    mountOptions: [...FLAG_OPTIONS_NAMES, ...Object.keys(PROPAGATION), 'rro', 'rrw'].sort(),
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities: CAPABILITIES,
      cgroup: { v1: true, v2: true, systemd: systemdUsable(), systemdUser: false, rdma: true },
      seccomp: {
        enabled: true,
        actions: Object.keys(seccomp.ACTIONS).sort(),
        operators: [...seccomp.OPS].sort(),
        archs: Object.keys(seccomp.ARCHES).sort(),
        knownFlags: Object.keys(seccomp.FLAGS).sort(),
        supportedFlags: Object.keys(seccomp.FLAGS).sort(),
      },
      apparmor: { enabled: liveHost().apparmor },
      selinux: { enabled: liveHost().selinux },
      intelRdt: { enabled: false },
      netDevices: { enabled: true },
      memoryPolicy: { modes: Object.keys(MPOL_MODES), flags: Object.keys(MPOL_FLAGS) },
      mountExtensions: { idmap: { enabled: true } },
    },
    // What an annotation can change: with the systemd driver, `org.systemd.property.<Name>` sets a property of
    // the container's unit. A name ending in "." stands for every annotation it begins (runc's form).
    potentiallyUnsafeConfigAnnotations: ['org.systemd.property.'],
    annotations: { 'org.opencontainers.runtime.ocirun.version': VERSION, 'org.opencontainers.runtime.ocirun.commit': COMMIT },
  };
}
