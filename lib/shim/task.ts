// containerd's task service (containerd.task.v2.Task) over the lifecycle library, in this process: each
// container's init and exec processes are children of the shim, their exits come from the addon (pidfd), and
// every change is published as containerd expects (TaskCreate, TaskStart, TaskExit, TaskDelete, ...): in
// order (the publisher's queue), and without holding up the reply, as containerd's runc shim does.
// One shim may serve many containers (a pod's); state lives under `root`, where `ocirun --root` sees it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mountOptions } from '../config/mounts';
import type { Process } from '../config/spec';
import type { CgroupRecord } from '../cgroups/manager';
import type { Resources } from '../cgroups/types';
import { createContainer } from '../lifecycle/create';
import { destroy } from '../lifecycle/delete';
import { execStarted } from '../lifecycle/exec';
import { ownPidNamespace } from '../lifecycle/processes';
import { kill } from '../lifecycle/kill';
import { pause } from '../lifecycle/pause';
import { ps } from '../lifecycle/ps';
import { resume } from '../lifecycle/resume';
import { start } from '../lifecycle/start';
import { update } from '../lifecycle/update';
import { mountFs, pidfdOpen, pidfdSignal, setWinsize, unmountDetach, type Exit } from '../native';
import { VERSION } from '../version';
import type { Publisher } from './events';
import { decode, encode, timestamp, type Message } from './proto';
import { metrics } from './metrics';
import { OomWatch } from '../cgroups/oom';
import { ProcessIO, type StdioPaths } from './stdio';
import { readRecord } from '../state/store';
import { Code, RpcError, type Handler } from './ttrpc';

const STATUS = { created: 1, running: 2, stopped: 3, paused: 4 } as const;

/** The init or an exec process of a container. */
class Proc {
  pid = 0;
  status: keyof typeof STATUS = 'created';
  exitStatus = 0;
  exitedAt: Date | undefined;
  io: ProcessIO | undefined;
  consoleFd = -1;
  /** An exec'd process, held from its start: Kill signals it through this, never by its number. */
  pidfd = -1;
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(
    readonly execId: string,
    readonly paths: StdioPaths,
    readonly terminal: boolean,
    readonly spec?: Process,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  /**
   * Its exit, recorded at once (128+N for signal N, as runc's shim reports it). A terminal's copy takes what the
   * pty holds and ends: the output is queued before its fifo's EOF, which containerd's client waits for before
   * it deletes the process; a background process that keeps the terminal open does not hold the exit back.
   */
  exited(exit: Exit): void {
    this.io?.processExited();
    this.exitStatus = exit.signal ? 128 + exit.signal : exit.code;
    this.exitedAt = new Date();
    this.status = 'stopped';
    this.io?.close();
    this.consoleFd = -1; // the terminal's copy (attachTerminal) owns and closes it
    if (this.pidfd >= 0) fs.closeSync(this.pidfd);
    this.pidfd = -1;
    this.finish();
  }
}

interface Container {
  id: string;
  bundle: string;
  rootfsMounted: boolean;
  init: Proc;
  execs: Map<string, Proc>;
  /** Its cgroups, from ocirun's record at create (none: rootless without delegation). */
  cgroup?: CgroupRecord;
  /** It has a pid namespace of its own, which the kernel empties when the init dies. */
  ownPidNs: boolean;
  /** The init has exited (its exit may not be told yet): no exec starts any more. */
  initGone: boolean;
  /** Execs being started: the init's exit waits for each to run or fail. */
  starting: Set<Promise<void>>;
  oom?: OomWatch;
}

type Handlers = Record<string, (req: Message) => Promise<Message>>;

export class TaskService {
  private readonly containers = new Map<string, Container>();

  constructor(
    private readonly root: string,
    private readonly namespace: string,
    private readonly events: Publisher,
    private readonly onShutdown: () => void,
    private readonly log: (msg: string) => void,
  ) {}

  /** How many containers it serves. */
  serving(): number {
    return this.containers.size;
  }

  private container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw new RpcError(Code.NOT_FOUND, `container ${id}: not found`);
    return c;
  }

  private proc(id: string, execId: string): Proc {
    const c = this.container(id);
    if (!execId) return c.init;
    const p = c.execs.get(execId);
    if (!p) throw new RpcError(Code.NOT_FOUND, `process ${execId} of container ${id}: not found`);
    return p;
  }

  /**
   * A process's exit: recorded, then TaskExit (Wait answers then too), in containerd's runc shim's order: the
   * init's comes after the exits of the execs that were running, which end with it (the kernel empties the
   * init's pid namespace; a container without one of its own is emptied here, as the runc shim empties it).
   */
  private watch(c: Container, p: Proc, exited: Promise<Exit>): void {
    void exited.then(async (exit) => {
      if (p === c.init) {
        c.initGone = true;
        // An OOM kill of the init is told before its exit; the watch ends with it.
        c.oom?.check();
        c.oom?.stop();
        await Promise.allSettled(c.starting);
        const running = [...c.execs.values()].filter((e) => e.status === 'running');
        if (!c.ownPidNs) {
          // Its cgroup's processes, and the execs through the pidfds held for them (a container without cgroups).
          await kill(c.id, 9, { root: this.root, all: true }).catch((err) => this.log(`emptying ${c.id} after its init's exit: ${(err as Error).message}`));
          for (const e of running) if (e.pidfd >= 0) pidfdSignal(e.pidfd, 9);
        }
        await Promise.all(running.map((e) => e.done));
      }
      p.exited(exit);
      await this.events.publish('containerd.events.TaskExit', {
        container_id: c.id, id: p.execId || c.id, pid: p.pid, exit_status: p.exitStatus, exited_at: timestamp(p.exitedAt!),
      });
    });
  }

  private readonly handlers: Handlers = {
    Create: async (req) => {
      if (this.containers.has(req.id)) throw new RpcError(Code.ALREADY_EXISTS, `container ${req.id}: already exists`);
      if (req.checkpoint) throw new RpcError(Code.UNIMPLEMENTED, 'ocirun does not restore checkpoints');
      const paths = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr };
      const init = new Proc('', paths, req.terminal);
      const c: Container = { id: req.id, bundle: req.bundle, rootfsMounted: false, init, execs: new Map(), ownPidNs: true, initGone: false, starting: new Set() };
      try {
        this.mountRootfs(c, req.rootfs);
        init.io = new ProcessIO(paths, req.terminal, { id: req.id, namespace: this.namespace });
        await init.io.ready;
        const made = await createContainer(req.id, { bundle: req.bundle, root: this.root, stdio: init.io.fds, onWarning: this.log }, { foregroundTerminal: req.terminal });
        init.io.spawned();
        init.pid = made.state.pid;
        if (made.consoleFd >= 0) {
          init.consoleFd = made.consoleFd;
          void init.io.attachTerminal(made.consoleFd);
        }
        const rec = readRecord(this.root, req.id);
        c.cgroup = rec.cgroup;
        c.ownPidNs = ownPidNamespace(rec.spec);
        c.oom = new OomWatch(c.cgroup, () => void this.events.publish('containerd.events.TaskOOM', { container_id: c.id }));
        this.containers.set(req.id, c);
        this.watch(c, init, made.init.exited);
      } catch (err) {
        init.io?.close();
        this.unmountRootfs(c);
        throw err;
      }
      void this.events.publish('containerd.events.TaskCreate', {
        container_id: c.id, bundle: c.bundle, rootfs: req.rootfs, io: { ...paths, terminal: req.terminal }, pid: init.pid,
      });
      return { pid: init.pid };
    },

    Start: async (req) => {
      const c = this.container(req.id);
      const p = this.proc(req.id, req.exec_id);
      if (p.status !== 'created') throw new RpcError(Code.FAILED_PRECONDITION, `process ${req.exec_id || req.id} is ${p.status}, not created`);
      if (!req.exec_id) {
        await start(req.id, { root: this.root, onWarning: this.log });
        p.status = 'running';
        void this.events.publish('containerd.events.TaskStart', { container_id: c.id, pid: p.pid });
        return { pid: p.pid };
      }
      // The init's exit is told after the exits of its execs: none may start once it has exited (the runc shim
      // refuses too), and one being started then is waited for.
      if (c.initGone) throw new RpcError(Code.FAILED_PRECONDITION, `container ${req.id} is stopped`);
      const starting = this.startExec(c, p);
      c.starting.add(starting);
      try {
        await starting;
      } finally {
        c.starting.delete(starting);
      }
      void this.events.publish('containerd.events.TaskExecStarted', { container_id: c.id, exec_id: req.exec_id, pid: p.pid });
      return { pid: p.pid };
    },

    Exec: async (req) => {
      const c = this.container(req.id);
      if (c.execs.has(req.exec_id)) throw new RpcError(Code.ALREADY_EXISTS, `process ${req.exec_id}: already exists`);
      if (c.initGone) throw new RpcError(Code.FAILED_PRECONDITION, `container ${req.id} is stopped`);
      const spec = JSON.parse(Buffer.from(req.spec?.value ?? []).toString('utf8') || '{}') as Process;
      c.execs.set(req.exec_id, new Proc(req.exec_id, { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr }, req.terminal, spec));
      void this.events.publish('containerd.events.TaskExecAdded', { container_id: c.id, exec_id: req.exec_id });
      return {};
    },

    Wait: async (req) => {
      const p = this.proc(req.id, req.exec_id);
      await p.done;
      return { exit_status: p.exitStatus, exited_at: timestamp(p.exitedAt!) };
    },

    Kill: async (req) => {
      const c = this.container(req.id);
      const p = this.proc(req.id, req.exec_id);
      if (!req.exec_id) {
        if ((p.status === 'stopped' || c.initGone) && !req.all) throw new RpcError(Code.NOT_FOUND, 'process already finished');
        await kill(req.id, req.signal, { root: this.root, all: req.all });
      } else {
        if (p.status !== 'running' || p.pidfd < 0 || !pidfdSignal(p.pidfd, req.signal)) throw new RpcError(Code.NOT_FOUND, 'process already finished');
      }
      return {};
    },

    Delete: async (req) => {
      const c = this.container(req.id);
      const p = this.proc(req.id, req.exec_id);
      if (p.status === 'running' || p.status === 'paused') throw new RpcError(Code.FAILED_PRECONDITION, `cannot delete a ${p.status} process`);
      p.io?.discard(); // a terminal's output nobody read: containerd's client reads it all before it deletes
      if (req.exec_id) {
        c.execs.delete(req.exec_id);
      } else {
        // A created init still waits for start: force takes it down (its exit is then recorded first).
        await destroy(req.id, { root: this.root, force: true, onWarning: this.log });
        if (p.status === 'created') await p.done;
        this.unmountRootfs(c);
        this.containers.delete(req.id);
      }
      const exitedAt = timestamp(p.exitedAt ?? new Date());
      void this.events.publish('containerd.events.TaskDelete', {
        container_id: c.id, pid: p.pid, exit_status: p.exitStatus, exited_at: exitedAt, id: req.exec_id,
      });
      return { pid: p.pid, exit_status: p.exitStatus, exited_at: exitedAt };
    },

    State: async (req) => {
      const c = this.container(req.id);
      const p = this.proc(req.id, req.exec_id);
      return {
        id: req.exec_id || req.id, bundle: c.bundle, pid: p.pid, status: STATUS[p.status], ...p.paths, terminal: p.terminal,
        exit_status: p.exitStatus, ...(p.exitedAt ? { exited_at: timestamp(p.exitedAt) } : {}), exec_id: req.exec_id,
      };
    },

    Pids: async (req) => {
      this.container(req.id);
      return { processes: (await ps(req.id, { root: this.root })).map((pid) => ({ pid })) };
    },

    Pause: async (req) => {
      const c = this.container(req.id);
      await pause(req.id, { root: this.root });
      c.init.status = 'paused';
      void this.events.publish('containerd.events.TaskPaused', { container_id: c.id });
      return {};
    },

    Resume: async (req) => {
      const c = this.container(req.id);
      await resume(req.id, { root: this.root });
      c.init.status = 'running';
      void this.events.publish('containerd.events.TaskResumed', { container_id: c.id });
      return {};
    },

    CloseIO: async (req) => {
      if (req.stdin) this.proc(req.id, req.exec_id).io?.closeStdin();
      return {};
    },

    ResizePty: async (req) => {
      const p = this.proc(req.id, req.exec_id);
      if (!p.terminal) throw new RpcError(Code.FAILED_PRECONDITION, `process ${req.exec_id || req.id} has no terminal`);
      if (p.consoleFd >= 0) setWinsize(p.consoleFd, req.height, req.width); // else it has exited: nothing to size
      return {};
    },

    Update: async (req) => {
      this.container(req.id);
      const resources = JSON.parse(Buffer.from(req.resources?.value ?? []).toString('utf8') || '{}') as Resources;
      await update(req.id, resources, { root: this.root });
      return {};
    },

    Stats: async (req) => {
      const { cgroup } = this.container(req.id);
      if (!cgroup) throw new RpcError(Code.FAILED_PRECONDITION, `container ${req.id} has no cgroups`);
      return { stats: metrics(cgroup) };
    },

    Checkpoint: async () => {
      throw new RpcError(Code.UNIMPLEMENTED, 'ocirun does not checkpoint containers');
    },

    Connect: async (req) => {
      const c = this.containers.get(req.id);
      return { shim_pid: process.pid, task_pid: c?.init.pid ?? 0, version: VERSION };
    },

    Shutdown: async () => {
      // The shim ends (or lingers, main.ts) when it serves no container any more (containerd asks after each
      // task's delete).
      if (!this.containers.size) setImmediate(this.onShutdown);
      return {};
    },
  };

  /** The task service's methods as ttrpc handlers: each request and response decoded and encoded here. */
  methods(): Map<string, Handler> {
    const out = new Map<string, Handler>();
    const response: Record<string, string> = {
      Create: 'CreateTaskResponse', Start: 'StartResponse', Delete: 'DeleteResponse', Pids: 'PidsResponse', State: 'StateResponse',
      Wait: 'WaitResponse', Connect: 'ConnectResponse', Stats: 'StatsResponse',
    };
    const request: Record<string, string> = {
      Create: 'CreateTaskRequest', Exec: 'ExecProcessRequest', Checkpoint: 'CheckpointTaskRequest', Update: 'UpdateTaskRequest',
      ResizePty: 'ResizePtyRequest', CloseIO: 'CloseIORequest',
    };
    for (const [name, handle] of Object.entries(this.handlers)) {
      const reqType = `containerd.task.v2.${request[name] ?? `${name}Request`}`;
      const resType = response[name] ? `containerd.task.v2.${response[name]}` : 'google.protobuf.Empty';
      out.set(name, async (payload) => {
        try {
          return encode(resType, await handle(decode(reqType, payload)));
        } catch (err) {
          if (!(err instanceof RpcError)) this.log(`${name}: ${(err as Error).message}`);
          throw err;
        }
      });
    }
    return out;
  }

  /** An exec process, made and started in the container; its exit watched. */
  private async startExec(c: Container, p: Proc): Promise<void> {
    p.io = new ProcessIO(p.paths, p.terminal, { id: c.id, namespace: this.namespace });
    try {
      await p.io.ready;
      const e = await execStarted(c.id, { root: this.root, process: { ...p.spec!, terminal: p.terminal }, stdio: p.io.fds, onWarning: this.log });
      p.io.spawned();
      p.pid = e.pid;
      p.pidfd = pidfdOpen(e.pid); // our child, not reaped before its exit is handled here: still this process
      p.status = 'running';
      if (e.consoleFd >= 0) {
        p.consoleFd = e.consoleFd;
        void p.io.attachTerminal(e.consoleFd);
      }
      this.watch(c, p, e.exited);
    } catch (err) {
      p.io.close();
      throw err;
    }
  }

  /** containerd's rootfs mounts (a snapshotter's overlay or bind) onto <bundle>/rootfs. */
  private mountRootfs(c: Container, mounts: Message[]): void {
    if (!mounts.length) return;
    const target = path.join(c.bundle, 'rootfs');
    fs.mkdirSync(target, { recursive: true });
    for (const m of mounts) {
      const { flags, data } = mountOptions(m.options);
      mountFs(m.type === 'bind' ? '' : m.type, m.source, target, m.type === 'bind' ? flags | 0x1000 : flags, data);
      c.rootfsMounted = true;
    }
  }

  private unmountRootfs(c: Container): void {
    if (c.rootfsMounted) unmountDetach(path.join(c.bundle, 'rootfs'));
    c.rootfsMounted = false;
  }
}
