import { validateSpec } from '../config/load';
import { buildExecPlan } from '../config/plan';
import type { Process, Spec } from '../config/spec';
import { OcirunError } from '../errors';
import { commit, pidfdOpen, prepareSpawn, spawn, type Exit, type Spawned } from '../native';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CgroupRecord } from '../cgroups/manager';
import { hierarchies } from '../cgroups/hierarchy';
import { handOverNotifyFd } from './notify';
import { proxyConsole, type ConsoleProxy } from './console';
import { withContainer } from './with-container';
import type { CommonOptions } from './options';
import { checkPidFileDir, writePidFile } from './pidfile';
import { sendPidfd, signal, waitForeground } from './processes';
import { publicState } from './state';

export interface ExecOptions extends CommonOptions {
  /** The whole process (runc's --process FILE); otherwise the container's, changed by the fields below. */
  process?: Process;
  args?: string[];
  env?: string[];
  cwd?: string;
  user?: { uid: number; gid: number };
  additionalGids?: number[];
  /** Added to the bounding, effective and permitted sets, as runc's --cap. */
  caps?: string[];
  noNewPrivs?: boolean;
  preserveFds?: number;
  /** The process's stdin, stdout and stderr (fds of this process), as create's. */
  stdio?: [number, number, number];
  tty?: boolean;
  /** Where the pty master goes when the process has a terminal; none: this process proxies it. */
  consoleSocket?: string;
  /** Return once the process runs instead of waiting for it. */
  detach?: boolean;
  /** Written only once the process runs (a missing pid file is how conmon learns that exec failed). */
  pidFile?: string;
  apparmor?: string;
  processLabel?: string;
  /** Run the process even in a paused container (it starts frozen). */
  ignorePaused?: boolean;
  /**
   * runc's --cgroup: sub-cgroups of the container's to run in, each "[CONTROLLER[,CONTROLLER]:]PATH"; a PATH
   * without controllers applies to every hierarchy (and is the one form on cgroup v2).
   */
  cgroup?: string[];
  /** Where a pidfd of the new process goes (runc's --pidfd-socket). */
  pidfdSocket?: string;
  /** In the foreground, pass the signals this process receives to the new process (the CLI does). */
  forwardSignals?: boolean;
}

/** The container's cgroups with the --cgroup sub-paths applied; each must exist already, as with runc. */
export function subCgroups(rec: CgroupRecord, specs: string[]): CgroupRecord {
  const out: CgroupRecord = { ...rec, v1: { ...rec.v1 } };
  for (const spec of specs) {
    const colon = spec.indexOf(':');
    const controllers = colon >= 0 ? spec.slice(0, colon).split(',') : undefined;
    const sub = colon >= 0 ? spec.slice(colon + 1) : spec;
    if (!sub || path.isAbsolute(sub) || sub.split('/').includes('..'))
      throw new OcirunError(`invalid --cgroup ${spec}: want a path relative to the container's cgroup, without ".."`);
    const apply = (dir: string, what: string) => {
      const target = path.join(dir, sub);
      if (!fs.existsSync(target)) throw new OcirunError(`--cgroup ${spec}: ${what} ${target} does not exist`);
      return target;
    };
    if (!controllers) {
      if (out.unified && rec.unified) out.unified = apply(rec.unified, 'cgroup');
      for (const [c, dir] of Object.entries(rec.v1)) out.v1[c] = apply(dir, c);
      continue;
    }
    for (const c of controllers) {
      if (rec.mode === 'unified') throw new OcirunError(`invalid --cgroup ${spec}: controllers are not named on cgroup v2`);
      if (!rec.v1[c]) throw new OcirunError(`invalid --cgroup ${spec}: no such controller ${c}`);
      out.v1[c] = apply(rec.v1[c], c);
    }
  }
  return out;
}

/** The container's process with the exec flags applied, as runc builds it. */
function processOf(base: Process, o: ExecOptions): Process {
  if (o.process) return o.process;
  if (!o.args?.length) throw new OcirunError('exec: a command is required (or --process)');
  const env = new Map((base.env ?? []).map((kv) => [kv.split('=')[0], kv]));
  for (const kv of o.env ?? []) env.set(kv.split('=')[0], kv);
  const caps = base.capabilities ?? {};
  const add = (set: string[] | undefined) => [...new Set([...(set ?? []), ...(o.caps ?? [])])];
  return {
    ...base,
    terminal: o.tty === true,
    args: o.args,
    env: [...env.values()],
    cwd: o.cwd ?? base.cwd,
    user: {
      ...base.user,
      ...(o.user ?? {}),
      ...(o.additionalGids ? { additionalGids: o.additionalGids } : {}),
    },
    // runc's --cap: bounding, effective and permitted; ambient only where the process has inheritable
    // capabilities already (an ambient one must be inheritable too); never the inheritable set itself.
    capabilities: o.caps?.length
      ? {
          ...caps,
          bounding: add(caps.bounding),
          effective: add(caps.effective),
          permitted: add(caps.permitted),
          ...(caps.inheritable?.length ? { ambient: add(caps.ambient) } : {}),
        }
      : base.capabilities,
    noNewPrivileges: o.noNewPrivs ? true : base.noNewPrivileges,
    ...(o.apparmor ? { apparmorProfile: o.apparmor } : {}),
    ...(o.processLabel ? { selinuxLabel: o.processLabel } : {}),
  };
}

/**
 * cgroup v2 takes no process into a cgroup that has controllers enabled for its children. A container whose
 * init made sub-cgroups, moved itself into one and enabled controllers (systemd in a container does) has
 * such a top: the new process then joins its init's cgroup, as with runc. Only a cgroup inside the
 * container's own is taken.
 */
function leafOf(rec: CgroupRecord, initPid: number): CgroupRecord {
  if (!rec.unified) return rec;
  let subtree = '';
  try {
    subtree = fs.readFileSync(path.join(rec.unified, 'cgroup.subtree_control'), 'utf8').trim();
  } catch {
    return rec; // gone or unreadable: the spawn reports it
  }
  if (!subtree) return rec;
  const line = /^0::(.*)$/m.exec(fs.readFileSync(`/proc/${initPid}/cgroup`, 'utf8'));
  const mount = hierarchies().unified;
  if (!line || !mount) return rec;
  const initDir = path.join(mount, line[1]);
  return initDir.startsWith(`${rec.unified}/`) ? { ...rec, unified: initDir } : rec;
}

/**
 * Runs a new process in a created or running container: in all its namespaces, with its seccomp filter,
 * rlimits and (unless changed) its user and capabilities. In the foreground the result is the process's exit
 * status (128+N on signal N); detached, 0 once it runs.
 */
export async function exec(id: string, opts: ExecOptions): Promise<number> {
  const { spawned, proxy } = await spawnExec(id, opts, true);
  if (opts.detach) return 0;
  return waitForeground(spawned, proxy, opts.forwardSignals);
}

/** A process exec'd for a caller that waits for it itself (the shim): running, a child of this process. */
export interface ExecProcess {
  pid: number;
  exited: Promise<Exit>;
  /** Its terminal's pty master (the caller's to close), when it has one and no console socket took it; else -1. */
  consoleFd: number;
}

/** exec, returning once the process runs: the caller has its exit (and its terminal) to itself. */
export async function execStarted(id: string, opts: ExecOptions): Promise<ExecProcess> {
  const { spawned } = await spawnExec(id, opts, false);
  return { pid: spawned.pid, exited: spawned.exited, consoleFd: spawned.consoleFd };
}

/** The process joins the container and runs; with `proxyTerminal`, a terminal of its own is copied to ours. */
async function spawnExec(id: string, opts: ExecOptions, proxyTerminal: boolean): Promise<{ spawned: Spawned; proxy?: ConsoleProxy }> {
  checkPidFileDir(opts.pidFile);
  prepareSpawn();
  // Under the lock until the process runs (but see "paused" below): a concurrent delete or kill --all cannot
  // interleave with joining.
  const { spawned, proxy } = await withContainer(id, opts.ignorePaused ? 'exec --ignore-paused' : 'exec', opts, async ({ rec, dir, status }) => {
    const process = processOf(rec.spec.process, opts);
    if (process.terminal && opts.detach && !opts.consoleSocket)
      throw new OcirunError('exec: a detached process with a terminal needs --console-socket');
    const spec: Spec = validateSpec({ ...rec.spec, process }); // a --process file is checked like config.json
    // The init by pidfd, from the start time on record: its namespaces are joined only if it is still that process.
    const initFd = pidfdOpen(rec.pid, rec.startTime);
    if (initFd < 0) throw new OcirunError('cannot exec in a stopped container');
    // In a paused container the new process freezes as soon as it is in the cgroup, and spawn waits for it:
    // holding the lock then would keep out the `resume` that ends the wait.
    if (status === 'paused') dir.release();
    let spawned: Spawned;
    try {
      if (opts.cgroup?.length && !rec.cgroup) throw new OcirunError(`--cgroup: container ${id} has no cgroups`);
      const cgroups = rec.cgroup && opts.cgroup?.length ? subCgroups(rec.cgroup, opts.cgroup) : rec.cgroup && leafOf(rec.cgroup, rec.pid);
      const plan = buildExecPlan(spec, rec.pid, { preserveFds: opts.preserveFds, stdio: opts.stdio, warn: opts.onWarning, consoleSocket: opts.consoleSocket, cgroups });
      opts.onDebug?.(`exec: joining ${plan.joins.map((j) => j.path).join(' ')} (checked against init ${rec.pid}'s pidfd)`);
      spawned = await spawn({ ...plan, joinPidfd: initFd });
    } finally {
      fs.closeSync(initFd);
    }
    const proxy = proxyTerminal && spawned.consoleFd >= 0 ? proxyConsole(spawned.consoleFd) : undefined;
    try {
      if (spawned.notifyFd >= 0) handOverNotifyFd(spec, publicState(rec, status), spawned.notifyFd);
      await commit(spawned.syncFd);
      opts.onDebug?.(`exec: process ${spawned.pid} runs`);
    } catch (err) {
      proxy?.close();
      signal(spawned.pid, 'SIGKILL');
      throw err;
    }
    return { spawned, proxy };
  });
  if (opts.pidFile) writePidFile(opts.pidFile, spawned.pid);
  if (opts.pidfdSocket) sendPidfd(opts.pidfdSocket, spawned.pid);
  return { spawned, proxy };
}
