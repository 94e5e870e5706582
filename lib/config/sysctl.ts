// linux.sysctl: only keys that belong to a namespace the container owns are allowed (runc's rule).
import { ConfigError } from '../errors';
import type { NamespaceType } from './spec';

const IPC_KEYS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax',
  'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

/** The namespace a sysctl key lives in, or undefined for a host-wide key. */
function namespaceOf(key: string): NamespaceType | undefined {
  if (IPC_KEYS.has(key) || key.startsWith('fs.mqueue.')) return 'ipc';
  if (key.startsWith('net.')) return 'network';
  if (key === 'kernel.domainname' || key === 'kernel.hostname') return 'uts';
  if (key.startsWith('user.')) return 'user'; // the user namespace limits (user.max_*_namespaces, ...)
  return undefined;
}

export function planSysctls(
  sysctl: Record<string, string> | undefined,
  owns: (t: NamespaceType) => boolean,
): { path: string; value: string }[] {
  return Object.entries(sysctl ?? {}).map(([raw, value]) => {
    const key = raw.replace(/\//g, '.');
    const where = `/linux/sysctl/${raw.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (!/^[a-z0-9_.-]+$/i.test(key) || key.split('.').some((part) => part === '' || part === '..'))
      throw new ConfigError(where, `invalid sysctl key ${raw}`);
    const ns = namespaceOf(key);
    if (!ns) throw new ConfigError(where, `sysctl ${key} is not in a separate kernel namespace`);
    if (!owns(ns)) throw new ConfigError(where, `sysctl ${key} needs a new ${ns} namespace`);
    return { path: `/proc/sys/${key.replace(/\./g, '/')}`, value };
  });
}
