// The command table: usage, flags and the action of each command. Actions load their lifecycle module on
// demand, so a command only pays for what it uses.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OcirunError } from '../errors';
import { str, type FlagSpec, type FlagValues } from './args';
import { formatFlag, idCommand, type Command, type Globals } from './command';
import { CGROUP_COMMANDS } from './cgroup-commands';
export type { Command, Globals } from './command';
import { print } from './output';

const pidfdSocketFlag: FlagSpec = { name: 'pidfd-socket', kind: 'string', help: "AF_UNIX socket that receives a pidfd of the container's process" };
const bundleFlag: FlagSpec = { name: 'bundle', short: 'b', kind: 'string', help: 'path to the bundle directory (default ".")' };
const createFlags: FlagSpec[] = [
  bundleFlag,
  { name: 'console-socket', kind: 'string', help: 'AF_UNIX socket that receives the pty master of a terminal' },
  { name: 'pid-file', kind: 'string', help: 'file to write the container process id to' },
  { name: 'no-pivot', kind: 'bool', help: 'use MS_MOVE and chroot instead of pivot_root' },
  { name: 'no-new-keyring', kind: 'bool', help: 'do not create a new session keyring' },
  { name: 'preserve-fds', kind: 'int', help: 'pass N additional fds (3 .. 3+N-1) to the container' },
  pidfdSocketFlag,
];

function createOptions(f: FlagValues, g: Globals) {
  return {
    root: g.root,
    bundle: str(f.bundle) ?? '.',
    pidFile: str(f['pid-file']),
    consoleSocket: str(f['console-socket']),
    noPivot: f['no-pivot'] === true,
    noNewKeyring: f['no-new-keyring'] === true,
    preserveFds: typeof f['preserve-fds'] === 'number' ? f['preserve-fds'] : 0,
    onWarning: g.warn,
    onDebug: g.debug,
    pidfdSocket: str(f['pidfd-socket']),
    systemdCgroup: g.systemdCgroup,
    rootless: g.rootless,
  };
}

const json = (v: unknown) => print(JSON.stringify(v, null, 2) + '\n');

/**
 * The CLI reaps only what it waits for in the foreground (run, exec): a process it leaves behind (create,
 * run -d, exec -d) passes, with its exit status, to the subreaper that started the CLI (conmon, a containerd
 * shim). Decided before the spawn: a process that exits at once must be reaped, or not, from the start.
 */
async function handOver(): Promise<void> {
  (await import('../native')).setReaping(false);
}

export const COMMANDS: Command[] = [
  {
    name: 'create',
    usage: '[command options] <container-id>',
    summary: 'create a container; its process waits for `start`',
    flags: createFlags,
    args: [1, 1],
    run: async (f, [id], g) => (await handOver(), await (await import('../lifecycle/create')).create(id, createOptions(f, g)), 0),
  },
  idCommand('start', 'run the user program of a created container', async (id, g) =>
    (await import('../lifecycle/start')).start(id, { root: g.root, onWarning: g.warn, onDebug: g.debug })),
  {
    name: 'run',
    usage: '[command options] <container-id>',
    summary: 'create and start a container; in the foreground, exit with its status',
    flags: [
      ...createFlags,
      { name: 'detach', short: 'd', kind: 'bool', help: 'return once the container has started' },
      { name: 'keep', kind: 'bool', help: 'do not delete the container after it exits' },
      { name: 'no-subreaper', kind: 'bool', help: 'accepted for compatibility with runc' },
    ],
    args: [1, 1],
    async run(f, [id], g) {
      if (f.detach === true) await handOver();
      const { run } = await import('../lifecycle/run');
      return run(id, { ...createOptions(f, g), detach: f.detach === true, keep: f.keep === true, forwardSignals: true });
    },
  },
  {
    name: 'exec',
    usage: '[command options] <container-id> <command> [args...]',
    summary: 'run a new process in a created or running container',
    keepArgOrder: true, // what follows the id is the command's
    flags: [
      { name: 'process', short: 'p', kind: 'string', help: 'a JSON file with the whole process (runtime-spec process)' },
      { name: 'tty', short: 't', kind: 'bool', help: 'allocate a terminal' },
      { name: 'console-socket', kind: 'string', help: 'AF_UNIX socket that receives the pty master' },
      { name: 'detach', short: 'd', kind: 'bool', help: 'return once the process runs' },
      { name: 'pid-file', kind: 'string', help: 'file to write the process id to, once it runs' },
      { name: 'cwd', kind: 'string', help: 'working directory in the container' },
      { name: 'env', short: 'e', kind: 'list', help: 'set an environment variable (repeatable)' },
      { name: 'user', short: 'u', kind: 'string', help: 'UID[:GID]' },
      { name: 'additional-gids', short: 'g', kind: 'list', help: 'an additional group (repeatable)' },
      { name: 'cap', short: 'c', kind: 'list', help: 'add a capability (repeatable)' },
      { name: 'no-new-privs', kind: 'bool', help: 'set no_new_privs' },
      { name: 'preserve-fds', kind: 'int', help: 'pass N additional fds (3 .. 3+N-1)' },
      { name: 'process-label', kind: 'string', help: 'SELinux label of the process' },
      { name: 'apparmor', kind: 'string', help: 'AppArmor profile of the process' },
      { name: 'ignore-paused', kind: 'bool', help: 'exec even in a paused container' },
      { name: 'cgroup', kind: 'list', help: 'run in a sub-cgroup of the container: [CONTROLLER[,CONTROLLER]:]PATH (repeatable)' },
      pidfdSocketFlag,
    ],
    args: [1, Infinity],
    errorStatus: 255,
    errorPrefix: 'exec failed: ',
    async run(f, [id, ...args], g) {
      if (f.detach === true) await handOver();
      const { exec } = await import('../lifecycle/exec');
      const processFile = str(f.process);
      const user = str(f.user);
      const ids = user?.split(':').map(Number);
      if (ids && ids.some((n) => !Number.isInteger(n) || n < 0)) throw new OcirunError(`invalid --user ${user}: want UID[:GID]`);
      const gids = (f['additional-gids'] as string[] | undefined)?.map(Number);
      if (gids?.some((n) => !Number.isInteger(n) || n < 0)) throw new OcirunError('invalid --additional-gids');
      return exec(id, {
        root: g.root,
        onWarning: g.warn,
        onDebug: g.debug,
        process: processFile ? JSON.parse(fs.readFileSync(processFile, 'utf8')) : undefined,
        args,
        env: f.env as string[] | undefined,
        cwd: str(f.cwd),
        user: ids ? { uid: ids[0], gid: ids[1] ?? 0 } : undefined,
        additionalGids: gids,
        caps: f.cap as string[] | undefined,
        noNewPrivs: f['no-new-privs'] === true,
        preserveFds: typeof f['preserve-fds'] === 'number' ? f['preserve-fds'] : 0,
        tty: f.tty === true,
        consoleSocket: str(f['console-socket']),
        detach: f.detach === true,
        pidFile: str(f['pid-file']),
        apparmor: str(f.apparmor),
        processLabel: str(f['process-label']),
        ignorePaused: f['ignore-paused'] === true,
        cgroup: f.cgroup as string[] | undefined,
        pidfdSocket: str(f['pidfd-socket']),
        forwardSignals: true,
      });
    },
  },
  {
    name: 'state',
    usage: '<container-id>',
    summary: 'print the state of a container as JSON',
    flags: [],
    args: [1, 1],
    async run(_f, [id], g) {
      json(await (await import('../lifecycle/state')).state(id, g));
      return 0;
    },
  },
  {
    name: 'kill',
    usage: '[command options] <container-id> [signal]',
    summary: 'send a signal (default TERM) to the container',
    flags: [{ name: 'all', short: 'a', kind: 'bool', help: 'send the signal to every process of the container' }],
    args: [1, 2],
    async run(f, [id, sig], g) {
      await (await import('../lifecycle/kill')).kill(id, sig ?? 'SIGTERM', { root: g.root, all: f.all === true, onDebug: g.debug });
      return 0;
    },
  },
  ...CGROUP_COMMANDS,
  {
    name: 'delete',
    usage: '[command options] <container-id>',
    summary: 'delete a stopped container (any container with --force)',
    flags: [{ name: 'force', short: 'f', kind: 'bool', help: 'kill the container if it is not stopped' }],
    args: [1, 1],
    async run(f, [id], g) {
      await (await import('../lifecycle/delete')).destroy(id, { root: g.root, force: f.force === true, onWarning: g.warn, onDebug: g.debug });
      return 0;
    },
  },
  {
    name: 'list',
    usage: '[command options]',
    summary: 'list the containers',
    flags: [formatFlag, { name: 'quiet', short: 'q', kind: 'bool', help: 'print only the container ids' }],
    args: [0, 0],
    async run(f, _a, g) {
      const all = await (await import('../lifecycle/list')).list(g);
      const format = str(f.format) ?? 'table';
      if (f.quiet) print(all.map((c) => c.id + '\n').join(''));
      else if (format === 'json') print(JSON.stringify(all) + '\n');
      else if (format === 'table') print(table(all));
      else throw new OcirunError(`invalid format option: ${format}`);
      return 0;
    },
  },
  {
    name: 'seccomp',
    usage: '[command options] [syscall [arg...]]',
    summary: "show the BPF program of the bundle's seccomp profile, or its decision for one syscall",
    flags: [bundleFlag, { name: 'arch', kind: 'string', help: 'x86_64, x86, x32 or aarch64 (default: this machine)' }],
    args: [0, 7],
    async run(f, [syscall, ...args]) {
      const { loadBundle } = await import('../config/load');
      const profile = loadBundle(str(f.bundle) ?? '.').spec.linux?.seccomp;
      if (!profile) throw new OcirunError('the config has no linux.seccomp');
      const explain = await import('../seccomp/explain');
      print(syscall ? explain.decision(profile, str(f.arch), syscall, args) : explain.programText(profile));
      return 0;
    },
  },
  { name: 'features', usage: '', summary: 'print the runtime-spec features document of this build', flags: [], args: [0, 0],
    run: async () => (json((await import('../features')).features()), 0) },
  {
    name: 'spec',
    usage: '[command options]',
    summary: 'write a default config.json into the bundle',
    flags: [bundleFlag, { name: 'rootless', kind: 'bool', help: 'a config an unprivileged user can run (a user namespace of its own ids)' }],
    args: [0, 0],
    async run(f) {
      const file = path.join(str(f.bundle) ?? '.', 'config.json');
      if (fs.existsSync(file)) throw new OcirunError(`File ${file} exists. Remove it first`);
      const { defaultSpec, rootlessSpec } = await import('../config/default-spec');
      const spec = f.rootless ? rootlessSpec(process.geteuid!(), process.getegid!()) : defaultSpec();
      fs.writeFileSync(file, JSON.stringify(spec, null, '\t') + '\n');
      return 0;
    },
  },
];

function table(all: { id: string; pid: number; status: string; bundle: string; created: string; owner: string }[]): string {
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...all.map((c) => [c.id, String(c.pid), c.status, c.bundle, c.created, c.owner])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  // runc's tabwriter: columns at least 12 wide, 3 spaces after the widest cell; the last one not padded.
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(Math.max(widths[i] + 3, 12)))).join('') + '\n').join('');
}
