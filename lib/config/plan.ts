// specconv: one validated config + the create options -> the flat NativePlan the addon executes.
// Semantic checks that a schema cannot express (a hostname needs a UTS namespace, ...) live here too, so
// that every refusal happens before any kernel work.
import * as path from 'node:path';
import { ConfigError } from '../errors';
import { initStubPath, type NativePlan } from '../native';
import type { Bundle } from './load';
import { devIsBound, planDevSymlinks, planDevices } from './devices';
import { PROPAGATION, idMapText, planMount } from './mounts';
import { cgroupPlacement, type CgroupRecord } from '../cgroups/manager';
import { initControl, processEnv } from './process';
import { Ctl } from './control';
import { planSysctls } from './sysctl';
import { PROC_NS, liveHost, type HostFacts } from './host';
import { createContainerPlan, writeStartHooks } from '../hooks';
import type { IDMapping, NamespaceType, Spec } from './spec';

export const CLONE_FLAGS: Record<NamespaceType, number> = {
  mount: 0x00020000, cgroup: 0x02000000, uts: 0x04000000, ipc: 0x08000000,
  user: 0x10000000, pid: 0x20000000, network: 0x40000000, time: 0x00000080,
};

// Join order: user first (the others are joined with its privileges), mount last (paths are host paths).
const JOIN_ORDER: NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount'];

export interface PlanOptions {
  id: string;
  stateDir: string;
  newKeyring?: boolean;
  noPivot?: boolean;
  preserveFds?: number;
  /** stdin, stdout and stderr for the process (fds of this process); default: the runtime's own. */
  stdio?: [number, number, number];
  extraEnv?: string[];
  /** Told about what the config asks for that this kernel cannot give, and is left out. */
  warn?: (msg: string) => void;
  /** Where the pty master of a terminal goes; none: back to the caller, who proxies it. */
  consoleSocket?: string;
  /** The state the startContainer hooks read (its pid filled in by the init). */
  hookState?: object;
  /**
   * The container's cgroups, already planned: the process is placed in them, and a cgroup mount without a
   * cgroup namespace binds them.
   */
  cgroups?: CgroupRecord;
  /** run: no exec.fifo; the init goes on to the user program once the runtime commits it. */
  startAtCommit?: boolean;
}

/** process.terminal and consoleSize, for create and exec alike. */
function terminalPlan(spec: Spec, consoleSocket: string | undefined) {
  const size = spec.process.consoleSize;
  for (const f of ['height', 'width'] as const)
    if (size && (size[f] < 0 || size[f] > 0xffff)) throw new ConfigError(`/process/consoleSize/${f}`, 'must be 0 to 65535');
  return {
    terminal: spec.process.terminal === true,
    // The pty is the process's own: owned by its user, as with runc.
    consoleUid: spec.process.user?.uid ?? 0,
    consoleGid: spec.process.user?.gid ?? 0,
    consoleSocket: consoleSocket ? path.resolve(consoleSocket) : '',
    consoleRows: size?.height ?? 0,
    consoleCols: size?.width ?? 0,
  };
}

interface Namespaces {
  fresh: Set<NamespaceType>;
  joined: Map<NamespaceType, string>;
}

function namespaces(spec: Spec): Namespaces {
  const ns: Namespaces = { fresh: new Set(), joined: new Map() };
  (spec.linux?.namespaces ?? []).forEach((n, i) => {
    if (ns.fresh.has(n.type) || ns.joined.has(n.type))
      throw new ConfigError(`/linux/namespaces/${i}/type`, `namespace ${n.type} is listed twice`);
    if (n.path) ns.joined.set(n.type, n.path);
    else ns.fresh.add(n.type);
  });
  return ns;
}

/** Whether a namespace path names the runtime's own (the host's) namespace of that type. */
function isHostNamespace(host: HostFacts, path: string, t: NamespaceType): boolean {
  const id = host.namespaceOf(path);
  return id !== undefined && id === host.ownNamespace(t);
}

const has = (ns: Namespaces, t: NamespaceType) => ns.fresh.has(t) || ns.joined.has(t);

function checkNamespaces(spec: Spec, ns: Namespaces, host: HostFacts): void {
  if (!has(ns, 'mount')) checkSharedMounts(spec);
  // A uts namespace of the container's own: a new one, or one joined by path, never the runtime's (the host's).
  const ownUts = ns.fresh.has('uts') || (ns.joined.has('uts') && !isHostNamespace(host, ns.joined.get('uts')!, 'uts'));
  if (spec.hostname !== undefined && !ownUts)
    throw new ConfigError('/hostname', 'setting the hostname needs a uts namespace of the container\'s own');
  if (spec.domainname !== undefined && !ownUts)
    throw new ConfigError('/domainname', 'setting the domainname needs a uts namespace of the container\'s own');
  const maps = spec.linux?.uidMappings?.length || spec.linux?.gidMappings?.length;
  if (ns.fresh.has('user') && !maps)
    throw new ConfigError('/linux/uidMappings', 'a new user namespace needs uidMappings and gidMappings');
  if (maps && !ns.fresh.has('user'))
    throw new ConfigError('/linux/uidMappings', 'id mappings need a new user namespace');
  checkNetDevices(spec, ns, host);
  if (spec.linux?.timeOffsets && !ns.fresh.has('time'))
    throw new ConfigError('/linux/timeOffsets', 'time offsets need a new time namespace');
}

/**
 * No mount namespace in the list: the container shares the runtime's, and anything mounted there would be
 * mounted on the host and outlive the container. It gets its rootfs by chroot and nothing else; what would
 * need a mount or a node is refused (runc mounts `mounts` into the runtime's namespace; ocirun will not).
 */
function checkSharedMounts(spec: Spec): void {
  const why = 'needs a mount namespace of the container\'s own (the namespaces list has none: it shares the runtime\'s)';
  if (spec.mounts?.length) throw new ConfigError('/mounts', `mounting ${why}`);
  // runc's words for these two.
  if (spec.linux?.maskedPaths?.length) throw new ConfigError('/linux/maskedPaths', 'unable to restrict sys entries without a private MNT namespace');
  if (spec.linux?.readonlyPaths?.length) throw new ConfigError('/linux/readonlyPaths', 'unable to restrict sys entries without a private MNT namespace');
  if (spec.root.readonly) throw new ConfigError('/root/readonly', `a read-only rootfs ${why}`);
  if (spec.linux?.rootfsPropagation) throw new ConfigError('/linux/rootfsPropagation', `rootfs propagation ${why}`);
  if (spec.linux?.devices?.length) throw new ConfigError('/linux/devices', `making device nodes ${why}`);
  if (spec.linux?.sysctl && Object.keys(spec.linux.sysctl).length)
    throw new ConfigError('/linux/sysctl', `writing sysctls through the container's /proc ${why}`);
}

/** A name the kernel takes for a network device (dev_valid_name): 1-15 bytes, no "/", ":" or space, not "." or "..". */
const validIfName = (n: string) => n.length > 0 && Buffer.byteLength(n) < 16 && n !== '.' && n !== '..' && !/[/:\s]/.test(n);

/** linux.netDevices: valid names, none twice inside, and a network namespace of the container's own to move into. */
function checkNetDevices(spec: Spec, ns: Namespaces, host: HostFacts): void {
  const devs = Object.entries(spec.linux?.netDevices ?? {});
  if (!devs.length) return;
  const ownNet = ns.fresh.has('network') || (ns.joined.has('network') && !isHostNamespace(host, ns.joined.get('network')!, 'network'));
  if (!ownNet) throw new ConfigError('/linux/netDevices', 'moving network devices needs a network namespace of the container\'s own');
  const inside = new Map<string, string>();
  for (const [key, dev] of devs) {
    if (!validIfName(key)) throw new ConfigError(`/linux/netDevices/${key}`, 'not a valid network device name (1-15 bytes, no "/", ":" or space)');
    const name = dev.name ?? key;
    if (dev.name !== undefined && !validIfName(dev.name))
      throw new ConfigError(`/linux/netDevices/${key}/name`, 'not a valid network device name (1-15 bytes, no "/", ":" or space)');
    if (inside.has(name)) throw new ConfigError(`/linux/netDevices/${key}/name`, `${name} is also the name of ${inside.get(name)} in the container`);
    inside.set(name, key);
  }
}

/** Whether a host path lies in the rootfs below the destination of one of the mounts before mount `i`. */
function underEarlierMount(spec: Spec, i: number, rootfs: string): (source: string) => boolean {
  return (source) =>
    (spec.mounts ?? []).slice(0, i).some((m) => {
      const at = path.join(rootfs, path.posix.resolve('/', m.destination));
      return source === at || source.startsWith(`${at}/`);
    });
}

const HOST_NAME_MAX = 64;
/** exec(2)'s limits: one string, and all of argv and envp with their pointers (ARG_MAX as Linux counts it). */
const MAX_ARG_STRLEN = 128 * 1024;
const ARG_MAX = 2 * 1024 * 1024;

/** What the kernel will refuse later, refused now with the field named. */
function checkKernelLimits(spec: Spec): void {
  for (const f of ['hostname', 'domainname'] as const) {
    const v = spec[f];
    if (v !== undefined && Buffer.byteLength(v) > HOST_NAME_MAX) throw new ConfigError(`/${f}`, `longer than the kernel's ${HOST_NAME_MAX} bytes`);
  }
  let total = 0;
  for (const [list, where] of [[spec.process.args, '/process/args'], [spec.process.env ?? [], '/process/env']] as const)
    list.forEach((s, i) => {
      const n = Buffer.byteLength(s) + 1;
      if (n > MAX_ARG_STRLEN) throw new ConfigError(`${where}/${i}`, `longer than exec(2) takes (${MAX_ARG_STRLEN} bytes)`);
      total += n + 8;
    });
  if (total > ARG_MAX)
    throw new ConfigError(spec.process.env && spec.process.env.length > spec.process.args.length ? '/process/env' : '/process/args',
      `the process's args and env together are ${total} bytes: more than exec(2) takes (${ARG_MAX})`);
}

/** What the config asks for that ocirun cannot give here: refused, naming the field, never ignored. */
function checkSupported(spec: Spec, host: HostFacts): void {
  if (spec.linux?.intelRdt)
    throw new ConfigError('/linux/intelRdt', host.resctrl ? 'Intel RDT is not supported by ocirun yet' : 'Intel RDT needs the resctrl filesystem, and this host has none mounted');
}

const idMap = (maps: IDMapping[] | undefined, field: string) => idMapText(maps ?? [], `/linux/${field}`);

function timeOffsets(spec: Spec): string {
  return Object.entries(spec.linux?.timeOffsets ?? {})
    .map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}\n`)
    .join('');
}

const sharesRuntimeMounts = (spec: Spec) => !(spec.linux?.namespaces ?? []).some((n) => n.type === 'mount');

/** exec: a process that joins every namespace of the container's init that differs from the runtime's own. */
export function buildExecPlan(
  spec: Spec,
  initPid: number,
  opts: { preserveFds?: number; stdio?: [number, number, number]; warn?: (msg: string) => void; consoleSocket?: string; cgroups?: CgroupRecord },
  host: HostFacts = liveHost(),
): NativePlan {
  const differs = (t: NamespaceType) => {
    const theirs = host.namespaceOf(`/proc/${initPid}/ns/${PROC_NS[t]}`);
    return theirs !== undefined && theirs !== host.ownNamespace(t); // undefined: a kernel without that type
  };
  const preserveFds = opts.preserveFds ?? 0;
  return {
    initPath: initStubPath,
    fifoPath: '',
    joinExisting: true,
    cloneFlags: 0,
    joins: JOIN_ORDER.filter(differs).map((t) => ({ type: CLONE_FLAGS[t], path: `/proc/${initPid}/ns/${PROC_NS[t]}` })),
    uidMap: '',
    gidMap: '',
    timeOffsets: '',
    preserveFds,
    ...(opts.stdio ? { stdio: opts.stdio } : {}),
    // A container without a mount namespace of its own has its root only by chroot: the process enters it.
    rootfs: sharesRuntimeMounts(spec) ? `/proc/${initPid}/root` : '',
    rootReadonly: false,
    noPivot: false,
    rootPropagation: 0,
    mounts: [],
    devices: [],
    symlinks: [],
    sysctls: [],
    readonlyPaths: [],
    maskedPaths: [],
    cwd: spec.process.cwd,
    ...terminalPlan(spec, opts.consoleSocket),
    initControl: initControl(spec, preserveFds, host, opts.warn).toBuffer(),
    env: processEnv(spec.process.env ?? []),
    ...cgroupPlacement(opts.cgroups),
  };
}

/** create's control message: the process, the startContainer hooks, and the fifo `start` writes to (not run's). */
function createControl(spec: Spec, preserveFds: number, opts: PlanOptions, host: HostFacts): Buffer {
  const m = initControl(spec, preserveFds, host, opts.warn);
  writeStartHooks(spec, opts.hookState ?? {}, m);
  return (opts.startAtCommit ? m : m.flag(Ctl.Fifo)).toBuffer();
}

/** The whole translation. It reads nothing itself: what it needs of the machine comes in `host`. */
export function buildPlan(bundle: Bundle, opts: PlanOptions, host: HostFacts = liveHost()): NativePlan {
  const { spec } = bundle;
  const ns = namespaces(spec);
  checkNamespaces(spec, ns, host);
  checkSupported(spec, host);
  checkKernelLimits(spec);
  const preserveFds = opts.preserveFds ?? 0;
  // A new cgroup namespace is made after the process is in its cgroups (native child step), not by clone.
  const cloneFlags = [...ns.fresh].filter((t) => t !== 'cgroup').reduce((f, t) => f + CLONE_FLAGS[t], 0);
  const joins = JOIN_ORDER.filter((t) => ns.joined.has(t)).map((t) => ({
    type: CLONE_FLAGS[t],
    path: ns.joined.get(t)!,
  }));
  const propagation = spec.linux?.rootfsPropagation;
  const ownMounts = has(ns, 'mount');
  if (!ownMounts && opts.noPivot) throw new ConfigError('/linux/namespaces', 'unable to use no-pivot without a private MNT namespace');
  return {
    initPath: initStubPath,
    fifoPath: opts.startAtCommit ? '' : path.join(opts.stateDir, 'exec.fifo'),
    cloneFlags,
    joins,
    cgroupNamespace: ns.fresh.has('cgroup'),
    uidMap: idMap(spec.linux?.uidMappings, 'uidMappings'),
    gidMap: idMap(spec.linux?.gidMappings, 'gidMappings'),
    timeOffsets: timeOffsets(spec),
    preserveFds,
    ...(opts.stdio ? { stdio: opts.stdio } : {}),
    rootfs: bundle.rootfs,
    sharesRuntimeMounts: !ownMounts,
    rootReadonly: spec.root.readonly === true,
    noPivot: opts.noPivot === true,
    ...(opts.noPivot ? { hostProcSys: host.procSysMounts.filter((p) => p !== bundle.rootfs && !p.startsWith(`${bundle.rootfs}/`)) } : {}),
    sessionKeyring: opts.newKeyring === false ? undefined : `_ses.${opts.id}`,
    rootPropagation: propagation ? PROPAGATION[propagation] : 0,
    mounts: (spec.mounts ?? []).map((m, i) => planMount(m, i, bundle.dir, host, opts.cgroups && { ...opts.cgroups, namespaced: has(ns, 'cgroup') }, underEarlierMount(spec, i, bundle.rootfs),
      { uid: spec.linux?.uidMappings, gid: spec.linux?.gidMappings })),
    // Without a mount namespace of its own the rootfs is used as it is, and so is a /dev bound from elsewhere:
    // not even the default nodes are made.
    // In a user namespace (the container's, or the runtime's own) mknod is refused: nodes are bound from the host.
    devices: ownMounts && !devIsBound(spec.mounts) ? planDevices(spec.linux?.devices, ns.fresh.has('user') || ns.joined.has('user') || host.inUserNamespace) : [],
    symlinks: ownMounts && !devIsBound(spec.mounts) ? planDevSymlinks(spec.mounts, host.hasKcore) : [],
    ...createContainerPlan(spec, opts.hookState ?? {}),
    sysctls: planSysctls(spec.linux?.sysctl, (t) => ns.fresh.has(t) || (ns.joined.has(t) && !isHostNamespace(host, ns.joined.get(t)!, t))),
    readonlyPaths: spec.linux?.readonlyPaths ?? [],
    maskedPaths: spec.linux?.maskedPaths ?? [],
    hostname: spec.hostname,
    domainname: spec.domainname,
    cwd: spec.process.cwd,
    ...terminalPlan(spec, opts.consoleSocket),
    initControl: createControl(spec, preserveFds, opts, host),
    env: processEnv([...(spec.process.env ?? []), ...(opts.extraEnv ?? [])]),
    ...cgroupPlacement(opts.cgroups),
  };
}
