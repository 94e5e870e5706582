import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadBundle } from '../config/load';
import { CLONE_FLAGS, buildPlan } from '../config/plan';
import { dirsToMake, lockCgroupPath, planCgroups, userManager } from '../cgroups/manager';
import { cgroupDriver } from '../cgroups/driver';
import type { Resources } from '../cgroups/types';
import { OcirunError, SystemError } from '../errors';
import { commit, prepareSpawn, spawn, spawnPlaced, writeProcFile, type Spawned } from '../native';
import { handOverNotifyFd } from './notify';
import { ContainerDir, checkId, type ContainerRecord } from '../state/store';
import { processStartTime } from '../state/status';
import { checkPidFileDir, writePidFile } from './pidfile';
import { runHooks } from '../hooks';
import { checkNetDevices, moveNetDevicesIn } from './net-devices';
import { rootlessCgroups } from '../cgroups/rootless';
import { inUserNamespace } from '../userns';
import { turn } from '../turn';
import { rootOf, type CommonOptions } from './options';
import { sendPidfd } from './processes';
import { publicState, type ContainerState } from './state';
import type { Held } from './with-container';
import { utcTimestamp } from '../timestamp';

export interface CreateOptions extends CommonOptions {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** Pass fds 3 .. 3+preserveFds-1 of this process to the container process. */
  preserveFds?: number;
  /**
   * The process's stdin, stdout and stderr: fds of this process (a library caller's pipes or fifos). Default:
   * this process's own 0, 1 and 2, as the CLI passes them. A terminal takes the place of all three.
   */
  stdio?: [number, number, number];
  /** Where a pidfd of the container's init goes (runc's --pidfd-socket). */
  pidfdSocket?: string;
  /** The cgroup is a transient systemd scope (runc's --systemd-cgroup); cgroupsPath is "slice:prefix:name". */
  systemdCgroup?: boolean;
  /**
   * An unprivileged caller (runc's --rootless; by default, when not root or in a user namespace): cgroups only
   * where they are delegated to it; without them, a resource limit is an error naming its field, and the
   * container runs in the caller's own cgroups.
   */
  rootless?: boolean;
}

/** This process's start time, which names it in a record while it creates (read once: it does not change). */
let ownStart: string | undefined;
const ownStartTime = () => (ownStart ??= processStartTime(process.pid) ?? '');

/** LISTEN_FDS (socket activation) is passed through as runc does: the fds are preserved and announced. */
function socketActivation(): { fds: number; env: string[] } {
  const n = Number(process.env.LISTEN_FDS);
  if (!Number.isInteger(n) || n <= 0) return { fds: 0, env: [] };
  return { fds: n, env: [`LISTEN_FDS=${n}`, 'LISTEN_PID=1'] };
}

/**
 * Creates a container: namespaces, mounts and devices are made and its process waits before the user program
 * until `start`. Validation happens before anything is made; a failure leaves nothing behind. The whole
 * protocol, this side's steps included, is written down in one place: native/src/sync.h.
 */
export async function create(id: string, opts: CreateOptions): Promise<ContainerState> {
  return (await createContainer(id, opts)).state;
}

export interface Created {
  state: ContainerState;
  consoleFd: number;
  init: Spawned;
  /** With `keepLocked`: the container as recorded, its directory still locked (the caller releases it). */
  held?: Held;
  /** With `startAtCommit`, when it applied: the init went on to the user program at the commit (no exec.fifo). */
  started: boolean;
}

/** How run and the shim use create; a plain create passes none of these. */
export interface CreateMode {
  /** A terminal without a console socket is allowed; its pty master is returned for the caller to proxy. */
  foregroundTerminal?: boolean;
  /** Nobody else may act on the container until the caller releases it (run's start follows at once). */
  keepLocked?: boolean;
  /**
   * run: the init does not wait on exec.fifo for a start but goes on to its startContainer hooks and the user
   * program as soon as the runtime commits it (as crun's run does); the caller runs what start would after
   * that (poststart). Not when a terminal is to be proxied: its proxy is in place before the program runs.
   */
  startAtCommit?: boolean;
}

/**
 * create, for `run` and the shim too (`mode`); with `keepLocked`, run's start follows without reading back
 * what this create wrote.
 */
export async function createContainer(id: string, opts: CreateOptions, mode: CreateMode & { keepLocked: true }): Promise<Created & { held: Held }>;
export async function createContainer(id: string, opts: CreateOptions, mode?: CreateMode): Promise<Created>;
export async function createContainer(id: string, opts: CreateOptions, mode: CreateMode = {}): Promise<Created> {
  const { foregroundTerminal = false, keepLocked = false } = mode;
  await turn();
  const root = rootOf(opts);
  checkId(id);
  checkPidFileDir(opts.pidFile);
  prepareSpawn(); // on an addon thread while the config is read
  const bundle = loadBundle(opts.bundle);
  const proxiedTerminal = bundle.spec.process.terminal === true && !opts.consoleSocket;
  if (proxiedTerminal && !foregroundTerminal)
    throw new OcirunError('/process/terminal: a terminal needs --console-socket when the runtime does not stay in the foreground');
  const startAtCommit = mode.startAtCommit === true && !proxiedTerminal;
  const activation = socketActivation();
  const preserveFds = (opts.preserveFds ?? 0) + activation.fds;
  const linux = bundle.spec.linux;
  // Rootless (by default: not root, or root of a user namespace): no cgroups unless the user may make them;
  // with --systemd-cgroup, the scope is the user's own systemd's (in its user.slice), as with runc.
  const rootless = opts.rootless ?? (process.geteuid?.() !== 0 || inUserNamespace());
  const planned = planCgroups(linux?.resources as Resources | undefined, linux?.cgroupsPath, id, {
    systemd: opts.systemdCgroup,
    annotations: bundle.spec.annotations,
    userManager: rootless && opts.systemdCgroup ? await userManager() : undefined,
  });
  const cgroups = rootless ? rootlessCgroups(planned, linux?.resources as Resources | undefined) : planned;
  if (linux?.netDevices) checkNetDevices(bundle.spec);
  const driver = cgroups && (await cgroupDriver(cgroups.record));
  const created = utcTimestamp();
  const rec: ContainerRecord = {
    id,
    pid: 0,
    startTime: '',
    bundle: bundle.dir,
    rootfs: bundle.rootfs,
    created,
    owner: '',
    annotations: bundle.spec.annotations,
    creating: { pid: process.pid, startTime: ownStartTime() },
    spec: bundle.spec,
    ...(cgroups ? { cgroup: cgroups.record } : {}),
  };
  const plan = buildPlan(bundle, {
    id,
    stateDir: path.join(root, id),
    noPivot: opts.noPivot,
    newKeyring: !opts.noNewKeyring,
    preserveFds,
    stdio: opts.stdio,
    extraEnv: activation.env,
    warn: opts.onWarning,
    consoleSocket: opts.consoleSocket,
    hookState: publicState(rec, 'creating'),
    cgroups: cgroups?.record,
    startAtCommit,
  });
  const debug = opts.onDebug ?? (() => {});
  debug(`config: ${bundle.dir}/config.json validated; plan: ${plan.mounts.length} mounts, ${plan.devices.length} devices, ` +
    `new namespaces ${nsNames(plan.cloneFlags) || 'none'}${plan.cgroupNamespace ? ' +cgroup' : ''}, joined ${plan.joins.map((j) => j.path).join(' ') || 'none'}`);
  if (cgroups) cgroups.record.created = dirsToMake(cgroups.record, cgroups.existing);
  // The first record names the cgroups before they exist: a create killed from here on leaves no orphan.
  const dir = ContainerDir.create(root, id, rec);
  let recordedDirs = cgroups?.record.created.join('\n');
  let unlockPath: (() => void) | undefined;
  let pid = 0;
  let spawned: Spawned | undefined;
  let syncFd = -1;
  let consoleFd = -1;
  let cgroupsMade = false;
  let release: (() => void) | undefined; // the claim on our cgroup, held until our process is in it
  let ours = false; // our process may be in the cgroup: on failure, kill what is there
  let committed: ContainerRecord | undefined;
  try {
    debug(`state: ${dir.dir} in place and locked`);
    if (cgroups && !cgroups.record.systemd && linux?.cgroupsPath) {
      // From here until our process is in its cgroup, no other create under this root that names it goes on.
      // Looked at again under that lock: what a create that held it made meanwhile is not ours. (Without a
      // cgroupsPath the cgroup is named by the id, which this create now holds under this root.)
      unlockPath = await lockCgroupPath(root, cgroups.record);
      const toMake = dirsToMake(cgroups.record, cgroups.existing);
      if (toMake.join('\n') !== recordedDirs) {
        cgroups.record.created = toMake;
        dir.write(rec);
        recordedDirs = toMake.join('\n');
      }
    }
    if (cgroups && driver) {
      await driver.make(cgroups); // on failure it removes what it made; a busy cgroup (someone else's) is not touched
      debug(`cgroups (${cgroups.record.systemd ? `systemd ${cgroups.record.systemd.unit} in ${cgroups.record.systemd.slice}` : cgroups.record.mode}): ` +
        `${[cgroups.record.unified, ...new Set(Object.values(cgroups.record.v1))].filter(Boolean).join(' ')}; ${cgroups.writes.length} resource writes`);
    } else debug('cgroups: none (rootless, and no cgroup delegated to this user)');
    cgroupsMade = true;
    // The record named the directories to make; it is written again only if the making found otherwise (a
    // concurrent create of the same cgroupsPath made one first).
    if (cgroups && cgroups.record.created.join('\n') !== recordedDirs) dir.write(rec);
    release = cgroups && driver ? await driver.claim(cgroups.record) : undefined;
    ours = true;
    debug(`spawn: clone3 ${driver?.placesAfterClone ? 'then the scope around the child' : 'into the cgroup'}; in the child: namespaces, mounts, devices, pivot_root, then the init stub`);
    spawned = cgroups && driver?.placesAfterClone ? await spawnPlaced(plan, (child) => driver.place(cgroups, child)) : await spawn(plan);
    release?.();
    release = undefined;
    unlockPath?.();
    unlockPath = undefined;
    if (cgroups?.record.systemd) dir.write(rec); // the unit is started: delete stops it from now on
    pid = spawned.pid;
    debug(`spawn: init ${pid} is ready (it waits for the runtime's commit${startAtCommit ? '' : ', then for start'})`);
    syncFd = spawned.syncFd;
    consoleFd = spawned.consoleFd;
    if (spawned.notifyFd >= 0) handOverNotifyFd(bundle.spec, publicState({ ...rec, pid }, 'creating'), spawned.notifyFd);
    if (bundle.spec.process.oomScoreAdj !== undefined) setOomScoreAdj(pid, bundle.spec.process.oomScoreAdj);
    if (bundle.spec.linux?.netDevices) moveNetDevicesIn(bundle.spec, pid, debug);
    delete rec.creating;
    committed = { ...rec, pid, startTime: spawned.startTime };
    dir.write(committed);
    // The namespaces exist and the process waits: the runtime-namespace hooks of create run now. (runc runs
    // them before pivot_root; a hook that looks into the container's mounts sees them after it here.)
    await runHooks(bundle.spec, 'prestart', publicState(committed, 'creating'));
    await runHooks(bundle.spec, 'createRuntime', publicState(committed, 'creating'));
    syncFd = -1;
    await commit(spawned.syncFd); // only now may the init outlive us
    debug(`commit: init ${pid} recorded; ${startAtCommit ? 'it goes on to its startContainer hooks and the user program (run)' : 'it now waits on exec.fifo for start'}`);
    if (opts.pidFile) writePidFile(opts.pidFile, pid);
    if (opts.pidfdSocket) sendPidfd(opts.pidfdSocket, pid, committed.startTime);
  } catch (err) {
    release?.();
    if (syncFd >= 0) fs.closeSync(syncFd); // the init sees EOF and exits
    if (consoleFd >= 0) fs.closeSync(consoleFd);
    if (pid) killQuietly(pid);
    // Refused at the claim: another container's process is in the cgroup; leave it and what it lives in.
    if (cgroupsMade && cgroups && driver) await driver.undo(cgroups.record, ours).catch((e) => (opts.onWarning ?? (() => {}))(`cleaning up the cgroup: ${(e as Error).message}`));
    dir.remove();
    unlockPath?.(); // only once what we made is gone: a create waiting for it looks at what is there then
    throw err;
  }
  if (!keepLocked) dir.release();
  // The state as this create left it (its record is on disk; its init waits on exec.fifo, or with startAtCommit
  // has gone on): not read back.
  return {
    state: publicState(committed!, startAtCommit ? 'running' : 'created'),
    consoleFd,
    init: spawned!,
    started: startAtCommit,
    ...(keepLocked ? { held: { rec: committed!, dir } } : {}),
  };
}

/** Lowering it below our own needs CAP_SYS_RESOURCE: the error names the file and the errno. */
function setOomScoreAdj(pid: number, value: number): void {
  try {
    writeProcFile(`${pid}/oom_score_adj`, String(value));
  } catch (err) {
    const e = err as SystemError;
    throw new SystemError(`oom-score-adj: ${e.message}`, { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, step: 'oom-score-adj' });
  }
}

const nsNames = (flags: number) => Object.entries(CLONE_FLAGS).filter(([, f]) => flags & f).map(([n]) => n).join(',');

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
