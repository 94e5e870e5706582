// Host facts: all that the translation (spec -> plan) needs to know about the machine it runs on. The live
// host reads each fact once, when it is first asked for; the translation takes the facts as a value and
// touches no file itself, so that unit tests can describe any host (a cgroup v2 host, a kernel that lacks a
// capability, a host with AppArmor) and drive plan.ts without root (test/plan.test.mjs).
import * as fs from 'node:fs';
import { cgroupMounts, type CgroupMount } from '../cgroups/hierarchy';
import { mountTable } from '../mountinfo';
import { inUserNamespace } from '../userns';
import type { NamespaceType } from './spec';

export interface HostFacts {
  /** The highest capability number the running kernel knows (/proc/sys/kernel/cap_last_cap). */
  readonly lastCap: number;
  /** /proc/kcore exists (a kernel with it gets the /dev/core link). */
  readonly hasKcore: boolean;
  /** The LSMs a label can be given for. */
  readonly apparmor: boolean;
  readonly selinux: boolean;
  /** The NUMA nodes online (/sys/devices/system/node/online). */
  readonly numaNodes: Set<number>;
  /** The resctrl filesystem (Intel RDT) is mounted. */
  readonly resctrl: boolean;
  /** The host's cgroup mounts, from the runtime's mountinfo. */
  readonly cgroupMounts: CgroupMount[];
  /** Where whole proc and sysfs filesystems are mounted in the runtime's mount namespace. */
  readonly procSysMounts: string[];
  /** The runtime itself runs in a user namespace that is not the host's (rootless podman runs it so). */
  readonly inUserNamespace: boolean;
  /** What is at a host path (a bind mount's source): undefined when nothing is. */
  pathKind(p: string): 'directory' | 'file' | undefined;
  /** The identity (device:inode) of the namespace that a path such as /proc/PID/ns/net names. */
  namespaceOf(p: string): string | undefined;
  /** The identity of the runtime's own namespace of a type (the host's, for a runtime on the host). */
  ownNamespace(t: NamespaceType): string | undefined;
}

export const PROC_NS: Record<NamespaceType, string> = {
  mount: 'mnt', cgroup: 'cgroup', uts: 'uts', ipc: 'ipc', user: 'user', pid: 'pid', network: 'net', time: 'time',
};

/** An LSM is there when its parameters file says Y, or its filesystem is mounted. */
function lsmEnabled(file: string): boolean {
  try {
    return fs.readFileSync(file, 'utf8').trim() === 'Y' || fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

function identity(p: string): string | undefined {
  try {
    const st = fs.statSync(p);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** This machine. Each fact is read when first asked for, then kept: a command reads only what it uses. */
class LiveHost implements HostFacts {
  private cache = new Map<string, unknown>();
  private once<T>(key: string, read: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, read());
    return this.cache.get(key) as T;
  }
  get lastCap(): number {
    return this.once('lastCap', () => {
      try {
        return Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
      } catch {
        return 40; // CAP_CHECKPOINT_RESTORE, the last one ocirun names
      }
    });
  }
  get hasKcore(): boolean {
    return this.once('kcore', () => fs.existsSync('/proc/kcore'));
  }
  get apparmor(): boolean {
    return this.once('apparmor', () => lsmEnabled('/sys/module/apparmor/parameters/enabled'));
  }
  get selinux(): boolean {
    return this.once('selinux', () => lsmEnabled('/sys/fs/selinux'));
  }
  get numaNodes(): Set<number> {
    return this.once('numa', () => {
      const nodes = new Set<number>();
      let list = '0';
      try {
        list = fs.readFileSync('/sys/devices/system/node/online', 'utf8').trim();
      } catch {
        /* no NUMA support: one node, 0 */
      }
      for (const part of list.split(',')) {
        const [lo, hi] = part.split('-').map(Number);
        for (let n = lo; n <= (hi ?? lo); n++) nodes.add(n);
      }
      return nodes;
    });
  }
  get resctrl(): boolean {
    return this.once('resctrl', () => mountTable().some((m) => m.fstype === 'resctrl'));
  }
  get inUserNamespace(): boolean {
    return this.once('inUserNamespace', () => inUserNamespace());
  }
  get procSysMounts(): string[] {
    return this.once('procSysMounts', () => mountTable().filter((m) => m.root === '/' && (m.fstype === 'proc' || m.fstype === 'sysfs')).map((m) => m.mountPoint));
  }
  get cgroupMounts(): CgroupMount[] {
    return cgroupMounts();
  }
  pathKind(p: string): 'directory' | 'file' | undefined {
    try {
      return fs.statSync(p).isDirectory() ? 'directory' : 'file';
    } catch {
      return undefined;
    }
  }
  namespaceOf(p: string): string | undefined {
    return identity(p);
  }
  ownNamespace(t: NamespaceType): string | undefined {
    return this.once(`ns.${t}`, () => identity(`/proc/self/ns/${PROC_NS[t]}`));
  }
}

let live: HostFacts | undefined;
export const liveHost = (): HostFacts => (live ??= new LiveHost());
