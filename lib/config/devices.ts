// /dev inside the container: the default nodes every container gets, the config's linux.devices, and the
// usual symlinks.
import { ConfigError } from '../errors';
import type { NativeDevice } from '../native';
import type { Device, Mount } from './spec';

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

const DEFAULT_DEVICES: [string, number, number][] = [
  ['/dev/null', 1, 3], ['/dev/zero', 1, 5], ['/dev/full', 1, 7],
  ['/dev/random', 1, 8], ['/dev/urandom', 1, 9], ['/dev/tty', 5, 0],
];

/** In a new user namespace mknod is refused, so nodes are bind mounts of the host's. */
export function planDevices(configured: Device[] | undefined, inUserNs: boolean): NativeDevice[] {
  const out = new Map<string, NativeDevice>();
  for (const [path, major, minor] of DEFAULT_DEVICES)
    out.set(path, { path, mode: S_IFCHR | 0o666, major, minor, uid: 0, gid: 0, bindFromHost: inUserNs });
  (configured ?? []).forEach((d, i) => {
    const where = `/linux/devices/${i}`;
    if (!d.path.startsWith('/') || d.path.split('/').includes('..'))
      throw new ConfigError(`${where}/path`, 'must be an absolute path without ".."');
    for (const f of ['major', 'minor'] as const)
      if (d[f] !== undefined && (!Number.isInteger(d[f]) || d[f]! < 0 || d[f]! > 0xfffff)) throw new ConfigError(`${where}/${f}`, 'must be a device number (0 to 1048575)');
    const type = d.type === 'b' ? S_IFBLK : d.type === 'p' ? S_IFIFO : S_IFCHR;
    out.set(d.path, {
      path: d.path,
      mode: type | ((d.fileMode ?? 0o666) & 0o7777),
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
      bindFromHost: inUserNs,
    });
  });
  return [...out.values()];
}

/**
 * A /dev bound from elsewhere is taken as it is, as runc takes it: no node, symlink or ptmx is made in it (it
 * may be read-only, and it is someone else's tree).
 */
export function devIsBound(mounts: Mount[] | undefined): boolean {
  return (mounts ?? []).some((m) =>
    m.destination.replace(/\/+$/, '').replace(/\/{2,}/g, '/') === '/dev' && (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')));
}

export function planDevSymlinks(mounts: Mount[] | undefined, hasKcore: boolean): { target: string; linkpath: string }[] {
  const links = [
    { target: '/proc/self/fd', linkpath: '/dev/fd' },
    { target: '/proc/self/fd/0', linkpath: '/dev/stdin' },
    { target: '/proc/self/fd/1', linkpath: '/dev/stdout' },
    { target: '/proc/self/fd/2', linkpath: '/dev/stderr' },
  ];
  if (hasKcore) links.push({ target: '/proc/kcore', linkpath: '/dev/core' });
  if ((mounts ?? []).some((m) => m.destination === '/dev/pts' && m.type === 'devpts'))
    links.push({ target: 'pts/ptmx', linkpath: '/dev/ptmx' });
  return links;
}
