// config.json mounts -> native mount plans: option words to MS_* flags, propagation and data, the source
// resolved against the bundle, and what a "cgroup" mount means on this host.
import * as path from 'node:path';
import { ConfigError } from '../errors';
import { MountKind, type NativeMount } from '../native';
import type { IDMapping, Mount } from './spec';
import type { HostFacts } from './host';

export const MS = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, SYNCHRONOUS: 0x10, REMOUNT: 0x20, MANDLOCK: 0x40,
  DIRSYNC: 0x80, NOSYMFOLLOW: 0x100, NOATIME: 0x400, NODIRATIME: 0x800, BIND: 0x1000, MOVE: 0x2000,
  REC: 0x4000, SILENT: 0x8000, UNBINDABLE: 0x20000, PRIVATE: 0x40000, SLAVE: 0x80000, SHARED: 0x100000,
  RELATIME: 0x200000, I_VERSION: 0x800000, STRICTATIME: 0x1000000, LAZYTIME: 0x2000000,
} as const;

// option -> [flags to set, flags to clear]
const FLAG_OPTIONS: Record<string, [number, number]> = {
  defaults: [0, 0], ro: [MS.RDONLY, 0], rw: [0, MS.RDONLY], nosuid: [MS.NOSUID, 0], suid: [0, MS.NOSUID],
  nodev: [MS.NODEV, 0], dev: [0, MS.NODEV], noexec: [MS.NOEXEC, 0], exec: [0, MS.NOEXEC],
  sync: [MS.SYNCHRONOUS, 0], async: [0, MS.SYNCHRONOUS], dirsync: [MS.DIRSYNC, 0], remount: [MS.REMOUNT, 0],
  mand: [MS.MANDLOCK, 0], nomand: [0, MS.MANDLOCK], atime: [0, MS.NOATIME], noatime: [MS.NOATIME, 0],
  diratime: [0, MS.NODIRATIME], nodiratime: [MS.NODIRATIME, 0], relatime: [MS.RELATIME, 0],
  norelatime: [0, MS.RELATIME], strictatime: [MS.STRICTATIME, 0], nostrictatime: [0, MS.STRICTATIME],
  lazytime: [MS.LAZYTIME, 0], nolazytime: [0, MS.LAZYTIME], iversion: [MS.I_VERSION, 0],
  noiversion: [0, MS.I_VERSION], silent: [MS.SILENT, 0], loud: [0, MS.SILENT], nosymfollow: [MS.NOSYMFOLLOW, 0],
  symfollow: [0, MS.NOSYMFOLLOW], bind: [MS.BIND, 0], rbind: [MS.BIND | MS.REC, 0],
};

export const FLAG_OPTIONS_NAMES = [...Object.keys(FLAG_OPTIONS), 'tmpcopyup', 'notmpcopyup'];

export const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

/** fstab-style options -> MS_* flags and the filesystem's data string (what the flags do not say). */
export function mountOptions(options: string[]): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const opt of options) {
    const f = FLAG_OPTIONS[opt];
    if (f) flags = (flags | f[0]) & ~f[1];
    else if (PROPAGATION[opt] === undefined) data.push(opt); // propagation is no part of making a mount
  }
  return { flags, data: data.join(',') };
}

/**
 * One config mount; `index` names it in errors. `ownCgroups`: the container's cgroup directories. Without a
 * cgroup namespace of its own (`namespaced` false) a cgroup mount binds those (as runc does), since a cgroup
 * filesystem mounted there would show the hierarchy's root; with one, a cgroup2 mount that a user namespace
 * may not make is bound from its cgroup2 directory instead.
 */
export function planMount(
  m: Mount,
  index: number,
  bundleDir: string,
  host: HostFacts,
  ownCgroups?: CgroupDirs & { namespaced?: boolean },
  madeEarlier: (source: string) => boolean = () => false,
  containerMaps?: { uid?: IDMapping[]; gid?: IDMapping[] },
): NativeMount {
  const where = `/mounts/${index}`;
  let flags = 0;
  let cleared = 0;
  let propagation = 0;
  let recursiveReadonly = false;
  let copyUp = false;
  let idmapped: 'idmap' | 'ridmap' | undefined;
  const data: string[] = [];
  for (const opt of m.options ?? []) {
    const f = FLAG_OPTIONS[opt];
    if (f) {
      flags = (flags | f[0]) & ~f[1];
      cleared = (cleared | f[1]) & ~f[0];
    }
    else if (PROPAGATION[opt] !== undefined) propagation = PROPAGATION[opt];
    else if (opt === 'rro') recursiveReadonly = true;
    else if (opt === 'tmpcopyup') copyUp = true;
    else if (opt === 'notmpcopyup') copyUp = false;
    else if (opt === 'rrw') recursiveReadonly = false;
    else if (opt === 'idmap' || opt === 'ridmap') idmapped = opt;
    else data.push(opt);
  }
  const isBind = m.type === 'bind' || (flags & MS.BIND) !== 0;
  if (copyUp && m.type !== 'tmpfs') throw new ConfigError(`${where}/options`, 'tmpcopyup is for tmpfs mounts');
  const base = {
    destination: path.posix.resolve('/', m.destination),
    data: data.join(','),
    propagation,
    recursiveReadonly,
    sourceIsFile: false,
  };
  if (isBind) {
    if (!m.source) throw new ConfigError(`${where}/source`, 'a bind mount needs a source');
    const source = path.resolve(bundleDir, m.source);
    // A source that does not exist yet may be made by an earlier mount of this container (mounts go in order):
    // the container's view of it is bound, a directory.
    const kind = host.pathKind(source) ?? (madeEarlier(source) ? 'directory' : undefined);
    if (!kind) throw new ConfigError(`${where}/source`, `bind source ${source} does not exist`);
    if (!idmapped && (m.uidMappings || m.gidMappings))
      throw new ConfigError(`${where}/${m.uidMappings ? 'uidMappings' : 'gidMappings'}`, 'a mount\'s own idmappings need the idmap or ridmap option');
    const idmap = idmapped ? planIdmap(m, where, idmapped === 'ridmap', containerMaps) : undefined;
    return { ...base, kind: MountKind.Bind, source, type: '', flags: flags | MS.BIND, ...(cleared ? { clearedFlags: cleared } : {}), ...(idmap ? { idmap } : {}), sourceIsFile: kind !== 'directory' };
  }
  if (idmapped) throw new ConfigError(`${where}/options`, `${idmapped} is for bind mounts`);
  if (m.uidMappings || m.gidMappings) throw new ConfigError(`${where}/uidMappings`, 'mount idmappings are for bind mounts with the idmap or ridmap option');
  if (!m.type) throw new ConfigError(`${where}/type`, 'is required for a mount that is not a bind mount');
  if (m.type === 'cgroup') return planCgroupMount(base, flags, host, ownCgroups);
  if (copyUp) {
    return { ...base, kind: MountKind.Filesystem, source: m.source ?? m.type, type: m.type, flags, copyUp };
  }
  return { ...base, kind: MountKind.Filesystem, source: m.source ?? m.type, type: m.type, flags };
}

/** The kernel's limit on the lines of a uid_map or gid_map. */
const MAX_MAP_LINES = 340;

/**
 * A uid_map or gid_map as the kernel checks it when it is written (at most 340 ranges, none empty, none
 * overlapping another on either side): a bad one is refused here, `at` naming the list. The map's text.
 */
export function idMapText(maps: IDMapping[], at: string): string {
  if (maps.length > MAX_MAP_LINES) throw new ConfigError(at, `at most ${MAX_MAP_LINES} ranges`);
  maps.forEach((r, i) => {
    if (r.size < 1) throw new ConfigError(`${at}/${i}/size`, 'must be at least 1');
    maps.slice(0, i).forEach((q, j) => {
      const overlap = (a: number, b: number, c: number, d: number) => a < c + d && c < a + b;
      if (overlap(r.containerID, r.size, q.containerID, q.size) || overlap(r.hostID, r.size, q.hostID, q.size))
        throw new ConfigError(`${at}/${i}`, `overlaps range ${j}`);
    });
  });
  return maps.map((r) => `${r.containerID} ${r.hostID} ${r.size}\n`).join('');
}

/**
 * An idmapped bind: the mount's own uidMappings and gidMappings, else the container's (runtime-spec 1.2: "MAY
 * use the container's user namespace mapping"); each in the format of a user namespace's, checked as the
 * kernel would check them, so that a bad one is refused here with its field named.
 */
function planIdmap(m: Mount, where: string, recursive: boolean, container?: { uid?: IDMapping[]; gid?: IDMapping[] }) {
  if (!m.uidMappings !== !m.gidMappings) throw new ConfigError(`${where}/${m.uidMappings ? 'gidMappings' : 'uidMappings'}`, 'uidMappings and gidMappings go together');
  const own = !!m.uidMappings;
  const uid = m.uidMappings ?? container?.uid;
  const gid = m.gidMappings ?? container?.gid;
  if (!uid?.length || !gid?.length)
    throw new ConfigError(`${where}/options`, 'an idmapped mount needs uidMappings and gidMappings: its own, or the container\'s user namespace mappings');
  const text = (maps: IDMapping[], field: string) => idMapText(maps, own ? `${where}/${field}` : `/linux/${field}`);
  return { uidMap: text(uid, 'uidMappings'), gidMap: text(gid, 'gidMappings'), recursive };
}

interface Hierarchy {
  name: string; // directory under /sys/fs/cgroup
  options: string; // "" for cgroup2
}

/** The host's cgroup hierarchies under /sys/fs/cgroup. */
function hostCgroupHierarchies(host: HostFacts): Hierarchy[] {
  const found: Hierarchy[] = [];
  for (const { mountPoint, fstype, superOpts } of host.cgroupMounts) {
    if (!mountPoint.startsWith('/sys/fs/cgroup')) continue;
    if (fstype === 'cgroup2') found.push({ name: path.relative('/sys/fs/cgroup', mountPoint), options: '' });
    if (fstype === 'cgroup') {
      const keep = superOpts.split(',').filter((o) => !['rw', 'ro', 'xattr', 'clone_children', 'noprefix'].includes(o) && !o.startsWith('release_agent'));
      found.push({ name: path.basename(mountPoint), options: keep.join(',') });
    }
  }
  return found;
}

/** A container's cgroup directories: cgroup2's, and each v1 hierarchy's (whatever its controllers). */
export interface CgroupDirs {
  unified?: string;
  v1: Record<string, string>;
}

function planCgroupMount(base: Omit<NativeMount, 'kind' | 'source' | 'type' | 'flags'>, flags: number, host: HostFacts, cgroups?: CgroupDirs & { namespaced?: boolean }): NativeMount {
  const hs = hostCgroupHierarchies(host);
  const unifiedOnly = hs.length === 1 && hs[0].name === '';
  // With a cgroup namespace: cgroup2 mounted (its root is the container's), or, where a user namespace may
  // not (rootless), the container's directory bound (cgroupSources[0]), as runc falls back.
  if ((unifiedOnly || hs.length === 0) && cgroups?.namespaced)
    return { ...base, kind: MountKind.Filesystem, source: 'cgroup', type: 'cgroup2', flags, ...(cgroups.unified ? { cgroupSources: [cgroups.unified] } : {}) };
  const own = cgroups?.namespaced ? undefined : cgroups;
  if ((unifiedOnly || hs.length === 0) && own?.unified)
    return { ...base, kind: MountKind.Bind, source: own.unified, type: '', flags: flags | MS.BIND | MS.REC };
  if (unifiedOnly || hs.length === 0)
    return { ...base, kind: MountKind.Filesystem, source: 'cgroup', type: 'cgroup2', flags };
  // The container's directory in the hierarchy mounted at /sys/fs/cgroup/<name>.
  const ownDir = (name: string) => {
    const mount = path.join('/sys/fs/cgroup', name);
    if (own?.unified?.startsWith(mount + '/')) return own.unified;
    return Object.values(own?.v1 ?? {}).find((d) => d.startsWith(mount + '/')) ?? '';
  };
  // v1 or hybrid host: a tmpfs holding one mount per hierarchy, as the host lays them out.
  return {
    ...base,
    kind: MountKind.CgroupV1Tree,
    source: 'tmpfs',
    type: 'tmpfs',
    flags,
    cgroupNames: hs.map((h) => h.name),
    cgroupOptions: hs.map((h) => h.options),
    ...(own ? { cgroupSources: hs.map((h) => ownDir(h.name)) } : {}),
  };
}
