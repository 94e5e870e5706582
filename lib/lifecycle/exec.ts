import { validateSpec } from '../config/load';
import { buildExecPlan } from '../config/plan';
import type { Process, Spec } from '../config/spec';
import { OcirunError } from '../errors';
import { commit, pidfdOpen, spawn, type Spawned } from '../native';
import * as fs from 'node:fs';
import { handOverNotifyFd } from './notify';
import { proxyConsole } from './console';
import { withContainer } from './with-container';
import type { CommonOptions } from './options';
import { checkPidFileDir, writePidFile } from './pidfile';
import { signal, waitForeground } from './processes';
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
}

/** The container's process with the exec flags applied, as runc builds it. */
function execProcess(base: Process, o: ExecOptions): Process {
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
 * Runs a new process in a created or running container: in all its namespaces, with its seccomp filter,
 * rlimits and (unless changed) its user and capabilities. In the foreground the result is the process's exit
 * status (128+N on signal N); detached, 0 once it runs.
 */
export async function exec(id: string, opts: ExecOptions): Promise<number> {
  checkPidFileDir(opts.pidFile);
  // Under the lock until the process runs (but see "paused" below): a concurrent delete or kill --all cannot
  // interleave with joining.
  const { spawned, proxy } = await withContainer(id, opts.ignorePaused ? 'exec --ignore-paused' : 'exec', opts, ({ rec, dir, status }) => {
    const process = execProcess(rec.spec.process, opts);
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
      const plan = buildExecPlan(spec, rec.pid, { preserveFds: opts.preserveFds, warn: opts.onWarning, consoleSocket: opts.consoleSocket, cgroups: rec.cgroup });
      spawned = spawn({ ...plan, joinPidfd: initFd });
    } finally {
      fs.closeSync(initFd);
    }
    const proxy = spawned.consoleFd >= 0 ? proxyConsole(spawned.consoleFd) : undefined;
    try {
      if (spawned.notifyFd >= 0) handOverNotifyFd(spec, publicState(rec, status), spawned.notifyFd);
      commit(spawned.syncFd);
    } catch (err) {
      proxy?.close();
      signal(spawned.pid, 'SIGKILL');
      throw err;
    }
    return { spawned, proxy };
  });
  if (opts.pidFile) writePidFile(opts.pidFile, spawned.pid);
  if (opts.detach) return 0;
  return waitForeground(spawned.pid, proxy);
}
