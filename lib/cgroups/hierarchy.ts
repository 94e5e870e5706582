// Where this host's cgroup hierarchies are, read from mountinfo: unified (cgroup2 at /sys/fs/cgroup), hybrid
// (v1 controllers plus a cgroup2 elsewhere, usually /sys/fs/cgroup/unified) or legacy (v1 only). And where a
// container's cgroups go: cgroupsPath resolved as runc's cgroupfs driver does.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../errors';
import { mountTable } from '../mountinfo';

export type CgroupMode = 'unified' | 'hybrid' | 'legacy';

export interface Hierarchies {
  mode: CgroupMode;
  /** Mount point of the cgroup2 hierarchy, if any. */
  unified?: string;
  /** v1 controller -> its mount point (co-mounted controllers share one). */
  v1: Map<string, string>;
}

export interface CgroupMount {
  root: string;
  mountPoint: string;
  fstype: 'cgroup' | 'cgroup2';
  superOpts: string;
}

/** This host's cgroup mounts. */
export function cgroupMounts(): CgroupMount[] {
  return mountTable().filter((m): m is CgroupMount => m.fstype === 'cgroup' || m.fstype === 'cgroup2');
}

let cached: Hierarchies | undefined;

export function hierarchies(): Hierarchies {
  if (cached) return cached;
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  // Mount options that are controllers (xattr, noprefix, ... are not).
  const known = new Set(fs.readFileSync('/proc/cgroups', 'utf8').split('\n').map((l) => l.split('\t')[0]));
  for (const { mountPoint, fstype, superOpts } of cgroupMounts()) {
    if (fstype === 'cgroup2' && (!unified || mountPoint === '/sys/fs/cgroup')) unified = mountPoint;
    if (fstype === 'cgroup')
      for (const opt of superOpts.split(','))
        // Controllers, and named hierarchies (name=systemd) which are joined too, as runc does.
        if ((known.has(opt) || opt.startsWith('name=')) && !v1.has(opt)) v1.set(opt, mountPoint);
  }
  const mode: CgroupMode = unified === '/sys/fs/cgroup' || (unified && !v1.size) ? 'unified' : v1.size ? (unified ? 'hybrid' : 'legacy') : 'unified';
  if (!unified && !v1.size) throw new ConfigError('/linux/cgroupsPath', 'no cgroup filesystem is mounted on this host');
  cached = { mode, unified, v1 };
  return cached;
}

/** This process's cgroup in each hierarchy: '' for cgroup2, else the controller name. */
export function ownCgroups(): Map<string, string> {
  const own = new Map<string, string>();
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') own.set('', m[3]);
    else for (const c of m[2].split(',')) own.set(c, m[3]);
  }
  return own;
}

/** The inner path (inside each hierarchy) of a container's cgroup: absolute, or relative to our own cgroup. */
export function innerPath(cgroupsPath: string | undefined, id: string): { relative: boolean; inner: string } {
  const p = cgroupsPath ?? id;
  if (p.includes(':') && !p.startsWith('/'))
    throw new ConfigError('/linux/cgroupsPath', `"${p}" is a systemd slice:prefix:name path; the systemd cgroup driver is not supported (use --systemd-cgroup with a systemd host)`);
  // Clean it as a path under "/": ".." can never climb above the hierarchy's root.
  const clean = path.posix.normalize('/' + p);
  if (clean === '/') throw new ConfigError('/linux/cgroupsPath', 'must name a cgroup below the root');
  return { relative: !p.startsWith('/'), inner: clean };
}

/**
 * The container's directory in one hierarchy ('' = cgroup2), and the directory it is made under, which exists:
 * the hierarchy's root, or our own cgroup in it for a relative path. `own` is ownCgroups(), read once by the
 * caller.
 */
export function cgroupDir(h: Hierarchies, own: Map<string, string>, controller: string, cgroupsPath: string | undefined, id: string): { dir: string; base: string } {
  const mount = controller === '' ? h.unified! : h.v1.get(controller)!;
  const { relative, inner } = innerPath(cgroupsPath, id);
  // Named as path.dirname names a directory's parent (no trailing slash), which is how dirsToMake meets it.
  const base = path.join(mount, relative ? own.get(controller) ?? '' : '').replace(/(.)\/+$/, '$1');
  return { dir: path.join(base, inner), base };
}
