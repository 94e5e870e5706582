// The only module that loads the addon. It declares the addon's plain-data interface and re-throws native
// failures as SystemError, so that nothing above it sees N-API details.
import * as path from 'node:path';
import { SystemError } from './errors';
import { atTurn } from './turn';

/** Mount kinds, as native/src/plan.h numbers them. */
export const enum MountKind {
  Filesystem = 0,
  Bind = 1,
  CgroupV1Tree = 2,
}

export interface NativeMount {
  kind: MountKind;
  source: string;
  destination: string;
  type: string;
  data: string;
  flags: number;
  /** MS_* flags the options clear: a bind with any is remounted even when nothing is set. */
  clearedFlags?: number;
  propagation: number;
  recursiveReadonly: boolean;
  /** tmpcopyup: the image's content at the destination is copied into the new tmpfs. */
  copyUp?: boolean;
  sourceIsFile: boolean;
  /**
   * `idmap`/`ridmap`: the uid_map and gid_map of the user namespace the runtime makes for it; the source is
   * then attached from a detached copy idmapped before the clone (recursively with `ridmap`).
   */
  idmap?: { uidMap: string; gidMap: string; recursive: boolean };
  cgroupNames?: string[];
  cgroupOptions?: string[];
  /** Host directories bound in place of each hierarchy ("" mounts the hierarchy itself). */
  cgroupSources?: string[];
}

export interface NativeDevice {
  path: string;
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
  bindFromHost: boolean;
}

/** Mirrors ocirun::ContainerPlan (native/src/plan.h). */
export interface NativePlan {
  initPath: string;
  fifoPath: string;
  /** exec: join the container in `joins`; make no namespace, mount or rootfs. */
  joinExisting?: boolean;
  cloneFlags: number;
  joins: { type: number; path: string }[];
  /**
   * exec: a pidfd of the container's init, whose /proc/PID/ns files are in `joins`. Checked alive after they
   * are opened, so that a pid reused in between can never be the process joined.
   */
  joinPidfd?: number;
  uidMap: string;
  gidMap: string;
  timeOffsets: string;
  preserveFds: number;
  /** The process's stdin, stdout and stderr, as fds of this process; absent: the runtime's own. */
  stdio?: [number, number, number];
  /** The container's cgroup2 directory: the process is born in it. */
  cgroupPath?: string;
  /** The cgroup2 directory is made around the cloned child, which waits for it (spawnPlaced). */
  cgroupDeferred?: boolean;
  /** `tasks` files (v1 controllers) the process moves itself into as its first step. */
  cgroupTasks?: string[];
  /** A new cgroup namespace, made once the process is in its cgroups. */
  cgroupNamespace?: boolean;
  /** The root filesystem; exec: the init's root (/proc/PID/root) when the process must enter it by chroot. */
  rootfs: string;
  /**
   * No mount namespace of the container's own: the runtime's is shared, so the rootfs is entered by chroot
   * and nothing is mounted (the plan then has no mounts, devices, symlinks, masked or read-only paths).
   */
  sharesRuntimeMounts?: boolean;
  rootReadonly: boolean;
  noPivot: boolean;
  /** --no-pivot: whole proc and sysfs mounts of the runtime's namespace outside the rootfs, to detach first. */
  hostProcSys?: string[];
  /** Name of a new session keyring for the container; none with --no-new-keyring. */
  sessionKeyring?: string;
  rootPropagation: number;
  mounts: NativeMount[];
  devices: NativeDevice[];
  symlinks: { target: string; linkpath: string }[];
  createContainerHooks?: { path: string; args: string[]; env: string[]; timeout: number }[];
  hookStateTemplate?: string;
  sysctls: { path: string; value: string }[];
  readonlyPaths: string[];
  maskedPaths: string[];
  hostname?: string;
  domainname?: string;
  cwd: string;
  terminal?: boolean;
  /** The owner the pty gets (the process user, in the container's ids). */
  consoleUid?: number;
  consoleGid?: number;
  consoleSocket?: string;
  consoleRows?: number;
  consoleCols?: number;
  /** The stub's control message (lib/config/control.ts), handed over on the sync socket when it asks. */
  initControl: Buffer;
  env: string[];
}

interface Pending {
  pid: number;
  pending: object;
}

interface Addon {
  spawn(planJson: string, initControl: Buffer): Promise<Spawned | Pending>;
  spawnFinish(pending: object): Promise<Spawned>;
  spawnAbort(pending: object): Promise<void>;
  commit(syncFd: number): Promise<void>;
  holdChild(pid: number, on: boolean): boolean;
  setReaping(on: boolean): void;
  becomeSubreaper(): void;
  setWinsize(fd: number, rows: number, cols: number): void;
  sendFd(socketPath: string, payload: string, fd: number): void;
  lock(fd: number): Promise<unknown>;
  tryLock(fd: number): boolean;
  unlock(fd: number): void;
  watchExit(pid: number, startTime: string): Promise<void>;
  watchOom(memoryDir: string, onSignal: () => void): () => void;
  attachDeviceFilter(dir: string, program: Buffer, replace: boolean): void;
  pidfdOpen(pid: number, startTime: string): number;
  pidfdSignal(fd: number, sig: number): boolean;
  makeStateDir(root: string, tmp: string, name: string, record: string): number;
  replaceFileAt(dirfd: number, name: string, data: string, mode: number, shownDir: string): void;
  moveNetDevice(fromNs: string, name: string, toNs: string, newName: string): void;
  writeProcFile(rel: string, data: string): void;
  mountFs(type: string, source: string, target: string, flags: number, data: string): void;
  unmountDetach(target: string): void;
  openFifo(path: string, write: boolean): number;
  pipe(): [number, number];
  dupFd(fd: number): number;
  setNonBlocking(fd: number): void;
  whenWritable(fd: number, onReady: (status: number) => void): () => void;
  prepareSpawn(initPath: string): boolean;
  exitNow(code: number): never;
}

const buildDir = path.join(__dirname, '..', 'build', 'Release');
let addon: Addon | undefined;

/**
 * The addon, loaded by process.dlopen from its one known path: require() would first resolve that path like a
 * module's (a stat and a realpath of each of its directories, a Module object): 0.5-0.9 ms against ~0.3.
 */
function load(): Addon {
  if (!addon) {
    const m = { exports: {} as Addon };
    process.dlopen(m, path.join(buildDir, 'ocirun.node'));
    addon = m.exports;
  }
  return addon;
}

/**
 * The CLI's exit, once all it wrote is out: _exit(2), without Node's teardown (joining its platform's worker
 * threads, disposing V8): ~1 ms of every command, more than loading the addon for it costs where the command
 * did not need it (state, list: ~0.6 ms less in all). Returns, for Node's exit, if the addon cannot be loaded.
 */
export function exitWithoutTeardown(code: number): void {
  let a: Addon;
  try {
    a = load();
  } catch {
    return;
  }
  a.exitNow(code);
}

/** The init stub the cloned child execs (from a sealed memfd copy). */
export const initStubPath = path.join(buildDir, 'ocirun-init');

function rethrow(err: unknown): never {
  const e = err as SystemError;
  if (e && typeof e === 'object' && 'syscall' in e)
    throw new SystemError(e.message, { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, step: e.step });
  throw err;
}

/** One call into the addon: its errors come out as SystemError, with the step, syscall, path and errno. */
function call<T>(fn: (a: Addon) => T): T {
  try {
    return fn(load());
  } catch (err) {
    rethrow(err);
  }
}

/**
 * The same, for the calls that run on the addon's own threads and settle a promise. The result comes at a
 * turn (lib/turn.ts): many spawns finishing together go on one per loop iteration.
 */
function callAsync<T>(fn: (a: Addon) => Promise<T>): Promise<T> {
  return atTurn(call(fn).catch(rethrow));
}

export interface Exit {
  /** The exit code; -1 when a signal ended the process. */
  code: number;
  /** The signal that ended it, or 0. */
  signal: number;
}

export interface Spawned {
  /** Host pid of the container's init. */
  pid: number;
  /** The seccomp notify fd, when the filter has a listener; else -1. */
  notifyFd: number;
  /** Pass to commit() once the pid is recorded; until then the init waits, and dies with this process. */
  syncFd: number;
  /** The pty master, when the process has a terminal and no console socket took it; else -1. */
  consoleFd: number;
  /** The init's start time (/proc/PID/stat's 22nd field), read while it set up; '' if that read failed. */
  startTime: string;
  /**
   * Settles when the process (a child of this one) exits, with its status when it is reaped here (see
   * setReaping and holdChild; else code and signal are 0). It does not keep this process alive.
   */
  exited: Promise<Exit>;
}

let prepared = false;

/**
 * Starts, on one of the addon's threads, what a spawn needs first and takes longest to make (the init stub's
 * sealed copy, about half a millisecond), so that it is made while the caller reads the config. Once per
 * process: the copy is kept for every later spawn (and made again if the stub on disk changes).
 */
export function prepareSpawn(): void {
  if (prepared) return;
  prepared = true;
  call((a) => a.prepareSpawn(initStubPath));
}

/**
 * Creates the container's process; settles once it is ready, waiting to be committed. The work (clone, the
 * child's requests, createContainer hooks) runs on the addon's threads: the event loop goes on meanwhile.
 */
export function spawn(plan: NativePlan): Promise<Spawned> {
  if (plan.cgroupDeferred) return Promise.reject(new TypeError('spawn: a plan with cgroupDeferred needs spawnPlaced()'));
  return callAsync((a) => spawnWith(a, plan) as Promise<Spawned>);
}

/**
 * The plan crosses to the addon as JSON text (V8's JSON.stringify, parsed in C++: native/src/plan_reader.h),
 * its control message as the Buffer it is: a fraction of the cost of reading ~250 fields through N-API.
 */
function spawnWith(a: Addon, plan: NativePlan): Promise<Spawned | Pending> {
  const { initControl, ...rest } = plan;
  return a.spawn(JSON.stringify(rest), initControl);
}

/**
 * spawn, for a cgroup made around the process (plan.cgroupDeferred: systemd's scope takes a pid): the child
 * is cloned and waits at its first sync point while `place(pid)` runs, then the spawn goes on. If place
 * fails, the child is killed and reaped and nothing of the spawn is left.
 */
export async function spawnPlaced(plan: NativePlan, place: (pid: number) => Promise<void>): Promise<Spawned> {
  const started = (await callAsync((a) => spawnWith(a, { ...plan, cgroupDeferred: true }))) as Pending;
  try {
    await place(started.pid);
  } catch (err) {
    await load().spawnAbort(started.pending);
    throw err;
  }
  return callAsync((a) => a.spawnFinish(started.pending));
}

/**
 * Whether the processes spawned from now on are reaped here when they exit (the default: a library's
 * processes are its children, and nobody else can). The CLI turns it off: the container it creates passes
 * to the subreaper that started the CLI (conmon, a containerd shim), whose exit status is that one's to take.
 * A held process (holdChild) is reaped either way.
 */
export function setReaping(on: boolean): void {
  call((a) => a.setReaping(on));
}

/**
 * Makes this process (a shim) the child subreaper of what it starts: processes a container leaves behind when
 * their parent dies come to it, and are reaped here on SIGCHLD. Never the children whose exit someone else
 * here waits for (the addon's own, Node's child_process).
 */
export function becomeSubreaper(): void {
  call((a) => a.becomeSubreaper());
}

/**
 * Whether waiting for a spawned process keeps this process alive (the foreground of run and exec does; a
 * daemon's containers do not). False when `pid` is no live child spawned here.
 */
export function holdChild(pid: number, on: boolean): boolean {
  return call((a) => a.holdChild(pid, on));
}

/** Lets a spawned init go on to wait for `start`: its pid is on record now. Closes syncFd. */
export function commit(syncFd: number): Promise<void> {
  return callAsync((a) => a.commit(syncFd));
}

/** TIOCSWINSZ on a pty. */
export function setWinsize(fd: number, rows: number, cols: number): void {
  return call((a) => a.setWinsize(fd, rows, cols));
}

/** Sends `payload` with `fd` attached (SCM_RIGHTS) to the AF_UNIX stream socket at `socketPath`. */
export function sendFd(socketPath: string, payload: string, fd: number): void {
  return call((a) => a.sendFd(socketPath, payload, fd));
}

/** flock(LOCK_EX | LOCK_NB) on an open fd: false when another holds it. */
export function tryLock(fd: number): boolean {
  return call((a) => a.tryLock(fd));
}

/** flock(LOCK_UN): the fd stays open for a later lock(). */
export function unlock(fd: number): void {
  call((a) => a.unlock(fd));
}

/** flock(LOCK_EX) on an open fd; released when the fd is closed. */
export async function lock(fd: number): Promise<void> {
  if (!tryLock(fd)) await callAsync((a) => a.lock(fd)); // held by another operation: wait on an addon thread
}

/**
 * Settles once process `pid` (the one that started at `startTime`, if given) has exited: a pidfd on the
 * event loop, for any process, not only children.
 */
export function watchExit(pid: number, startTime = ''): Promise<void> {
  return call((a) => a.watchExit(pid, startTime));
}

/**
 * Calls `onSignal` whenever the kernel signals an OOM in a cgroup v1 memory directory (or its removal): an
 * eventfd registered through cgroup.event_control, polled on the event loop without keeping it alive. Returns
 * the function that ends the watch.
 */
export function watchOom(memoryDir: string, onSignal: () => void): () => void {
  return call((a) => a.watchOom(memoryDir, onSignal));
}

/**
 * A pidfd for `pid` if it is still the process that started at `startTime` ("" takes any), else -1: from
 * here on it names that process for good, whatever happens to the number. Close it with fs.closeSync.
 */
export function pidfdOpen(pid: number, startTime = ''): number {
  return call((a) => a.pidfdOpen(pid, startTime));
}

/** Signals the process of a pidfd; false when it has exited. Signal 0 only checks. */
export function pidfdSignal(fd: number, sig: number): boolean {
  return call((a) => a.pidfdSignal(fd, sig));
}

/**
 * Network device `name` of the network namespace file `fromNs` ("": the runtime's) moved into `toNs`'s, named
 * `newName` there ("": unchanged), with its permanent addresses and up state.
 */
export function moveNetDevice(fromNs: string, name: string, toNs: string, newName: string): void {
  call((a) => a.moveNetDevice(fromNs, name, toNs, newName));
}

/**
 * A container's state directory made in one call (native/src/state_dir.h): <root>/<tmp> made, opened, locked and
 * given its first state.json, then renamed to <root>/<name> without replacing anything. The locked directory's
 * fd; 'exists' when something is at <root>/<name>, 'no-root' when <root> is missing (nothing is made then).
 */
export function makeStateDir(root: string, tmp: string, name: string, record: string): number | 'exists' | 'no-root' {
  const r = call((a) => a.makeStateDir(root, tmp, name, record));
  return r >= 0 ? r : r === -1 ? 'exists' : 'no-root';
}

/** `name` in the directory open as `dirfd` replaced by `data` atomically (written as `.<name>.<pid>`, renamed). */
export function replaceFileAt(dirfd: number, name: string, data: string, mode: number, shownDir: string): void {
  call((a) => a.replaceFileAt(dirfd, name, data, mode, shownDir));
}

/** Writes /proc/<rel> through a procfs checked as such, never through a mount or link placed on the way. */
export function writeProcFile(rel: string, data: string): void {
  return call((a) => a.writeProcFile(rel, data));
}

/** A mount on the host (MS_* `flags`, filesystem `data`); a bind is remounted with the flags. */
export function mountFs(type: string, source: string, target: string, flags: number, data: string): void {
  return call((a) => a.mountFs(type, source, target, flags, data));
}

/** umount2(MNT_DETACH); nothing mounted at `target` is fine. */
export function unmountDetach(target: string): void {
  return call((a) => a.unmountDetach(target));
}

/** A blocking pipe (close-on-exec): [read end, write end]. */
export function pipe(): [number, number] {
  return call((a) => a.pipe());
}

/**
 * Calls `onReady` once `fd` can be written (polled on the event loop, through a copy of the fd: `fd` may be
 * closed meanwhile), with a negative libuv error if polling failed. Returns a cancel: then it is not called.
 */
export function whenWritable(fd: number, onReady: (status: number) => void): () => void {
  return call((a) => a.whenWritable(fd, onReady));
}

/** O_NONBLOCK on the open file `fd` refers to (on every fd of it). */
export function setNonBlocking(fd: number): void {
  call((a) => a.setNonBlocking(fd));
}

/** A close-on-exec copy of `fd` (the same open file). */
export function dupFd(fd: number): number {
  return call((a) => a.dupFd(fd));
}

/** A fifo opened without waiting for its other side, then blocking; `write`: read-write (always a reader). */
export function openFifo(path: string, write: boolean): number {
  return call((a) => a.openFifo(path, write));
}

/**
 * Loads a BPF_PROG_TYPE_CGROUP_DEVICE program (once per process and program) and attaches it to a cgroup2
 * directory. `replace`: then detaches every other device program attached to that directory (what earlier
 * containers left in a cgroup that outlived them); not where another manager (systemd) attaches its own.
 */
export function attachDeviceFilter(dir: string, program: Buffer, replace: boolean): void {
  return call((a) => a.attachDeviceFilter(dir, program, replace));
}
