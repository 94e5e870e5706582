// containerd-shim-ocirun-v2: containerd's shim binary contract (runtime v2), for runtime type
// io.containerd.ocirun.v2. containerd runs it with its flags and an action, in the bundle's directory:
//   start   starts a shim (or finds the one serving the same pod) and prints its ttrpc address: done by the
//           launcher, without Node (native/src/launcher/shim_binary.h), which names the socket and starts
//           `serve` here;
//   delete  cleans up after a shim that died or a create that failed, and prints a DeleteResponse (the
//           launcher answers alone when there is nothing to clean up, after a shim's clean end);
//   -v      prints the version.
// The shim itself (`serve`) serves the task service on a unix socket and publishes events to containerd's
// ttrpc address (TTRPC_ADDRESS).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { mountTable } from '../mountinfo';
import { utcTimestamp } from '../timestamp';
import { COMMIT, VERSION } from '../version';
// The rest is loaded by the action that needs it: `start` (once per pod) and `-v` load no runtime code.
/* eslint-disable @typescript-eslint/no-var-requires */
const lazy = {
  delete: () => require('../lifecycle/delete') as typeof import('../lifecycle/delete'),
  native: () => require('../native') as typeof import('../native'),
  proto: () => require('./proto') as typeof import('./proto'),
  events: () => require('./events') as typeof import('./events'),
  task: () => require('./task') as typeof import('./task'),
  ttrpc: () => require('./ttrpc') as typeof import('./ttrpc'),
};
/* eslint-enable @typescript-eslint/no-var-requires */

interface Flags {
  namespace: string;
  address: string;
  id: string;
  bundle: string;
  debug: boolean;
  socket: string;
  action: string;
  version: boolean;
}

/** Go's flag syntax, as containerd writes it: -name value, -name=value, --name, booleans alone. */
export function parseFlags(argv: string[]): Flags {
  const f: Flags = { namespace: '', address: '', id: '', bundle: '', debug: false, socket: '', action: '', version: false };
  const strings = new Set(['namespace', 'address', 'publish-binary', 'id', 'bundle', 'socket']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) {
      f.action = a;
      continue;
    }
    const [name, inline] = a.replace(/^--?/, '').split(/=(.*)/s, 2);
    if (name === 'v' || name === 'version') f.version = true;
    else if (name === 'debug') f.debug = inline === undefined || inline === 'true';
    else if (strings.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`flag needs an argument: -${name}`);
      if (name === 'namespace') f.namespace = value;
      else if (name === 'address') f.address = value;
      else if (name === 'id') f.id = value;
      else if (name === 'bundle') f.bundle = value;
      else if (name === 'socket') f.socket = value;
    } else throw new Error(`flag provided but not defined: -${name}`);
  }
  return f;
}

/** Where the shim keeps its containers' state: `ocirun --root` of this directory sees them. */
export const stateRoot = (namespace: string) => path.join('/run/containerd/ocirun', namespace);

function readOr(file: string, otherwise: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return otherwise;
  }
}

/** OCIRUN_SHIM_LINGER: seconds an idle shim waits for another container before it ends (default 0). */
function lingerOf(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds > 86400) throw new Error(`OCIRUN_SHIM_LINGER=${value}: expected seconds, from 0 to 86400`);
  return seconds * 1000;
}

/** Whether something is mounted on `dir` (a bind of the same filesystem too). */
const mountedOn = (dir: string) => mountTable().some((m) => m.mountPoint === dir);

function connects(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.createConnection(socket);
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

/**
 * After a shim died or a create failed: the container killed and removed, its rootfs unmounted, and the
 * socket of a shim that no longer answers removed.
 */
async function deleteAfterShim(f: Flags): Promise<number> {
  const bundle = f.bundle || process.cwd();
  // containerd runs this after every shim's end, a clean one too: what is already gone costs nothing here.
  if (fs.existsSync(path.join(stateRoot(f.namespace), f.id)))
    await lazy.delete().destroy(f.id, { root: stateRoot(f.namespace), force: true }).catch(() => undefined);
  const rootfs = path.join(bundle, 'rootfs');
  if (mountedOn(rootfs)) lazy.native().unmountDetach(rootfs);
  // The socket of this container's shim, as start wrote it: removed when nothing answers there any more.
  const address = readOr(path.join(bundle, 'address'), '').replace(/^unix:\/\//, '');
  if (address.startsWith('/run/containerd/s/') && !(await connects(address))) fs.rmSync(address, { force: true });
  const { encode, timestamp } = lazy.proto();
  process.stdout.write(encode('containerd.task.v2.DeleteResponse', { exit_status: 128 + 9, exited_at: timestamp(new Date()) }));
  return 0;
}

async function serve(f: Flags): Promise<number> {
  // Its stdout and stderr were start's pipes, gone with it. containerd reads the fifo `log` in the bundle into
  // its own log: errors go there, and with -debug every step. Written asynchronously (a containerd that is
  // not reading never blocks the shim).
  const fifo = fs.existsSync('log') ? new net.Socket({ fd: fs.openSync('log', fs.constants.O_RDWR | fs.constants.O_NONBLOCK), readable: false, writable: true }) : undefined;
  fifo?.on('error', () => undefined);
  const line = (level: string, msg: string) => fifo?.write(`time="${utcTimestamp()}" level=${level} msg=${JSON.stringify(msg)} runtime=io.containerd.ocirun.v2\n`);
  const log = (msg: string) => (f.debug ? line('debug', msg) : undefined);
  process.on('uncaughtException', (err) => {
    line('error', `the shim failed: ${err.stack ?? err.message}`);
    fifo?.end(() => process.exit(1));
    setTimeout(() => process.exit(1), 1000).unref();
  });
  // What a container leaves behind when its parent dies (one that shares this PID namespace, an exec's
  // daemon) comes to the shim and is reaped here, as under containerd's runc shim.
  lazy.native().becomeSubreaper();
  const ttrpcAddress = process.env.TTRPC_ADDRESS ?? `${f.address}.ttrpc`;
  const events = new (lazy.events().Publisher)(ttrpcAddress, f.namespace, log);
  const lingerMs = lingerOf(process.env.OCIRUN_SHIM_LINGER);
  let server: import('./ttrpc').Server | undefined;
  let lingering: NodeJS.Timeout | undefined;
  const end = () => {
    // The socket first: a start from now on finds no shim here and starts one.
    fs.rmSync(f.socket, { force: true });
    server?.close();
    events.close();
    process.exit(0);
  };
  // containerd's Shutdown once the shim serves no container: it ends, or waits OCIRUN_SHIM_LINGER seconds for
  // the next one (a Create in between keeps it; the next Shutdown that finds it idle waits again).
  const service = new (lazy.task().TaskService)(stateRoot(f.namespace), f.namespace, events, () => {
    if (!lingerMs) return end();
    clearTimeout(lingering);
    lingering = setTimeout(() => (service.serving() ? undefined : end()), lingerMs);
  }, log);
  server = new (lazy.ttrpc().Server)(new Map([['containerd.task.v2.Task', service.methods()]]));
  await server.listen(f.socket);
  process.stdout.write('ready\n');
  return -1; // serving
}

export async function main(argv: string[]): Promise<number> {
  const f = parseFlags(argv);
  if (f.version) {
    process.stdout.write(`containerd-shim-ocirun-v2:\n  Version: ${VERSION}\n  Revision: ${COMMIT}\n  Go version: none (Node ${process.version})\n`);
    return 0;
  }
  if (!f.namespace && f.action !== '') throw new Error('-namespace is required');
  switch (f.action) {
    case 'delete':
      return deleteAfterShim(f);
    case 'serve':
      return serve(f);
    default:
      throw new Error(f.action === 'start' ? 'start is done by the launcher: run the shim as bin/containerd-shim-ocirun-v2' : `unknown action "${f.action}" (start, delete)`);
  }
}
