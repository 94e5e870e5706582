// Container state on disk: <root>/<id>/state.json (written atomically) and exec.fifo (present between create
// and start). Operations on one container are serialised by flock on its directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OcirunError, notFound } from '../errors';
import { lock } from '../native';
import type { Spec } from '../config/spec';
import type { CgroupRecord } from '../cgroups/manager';

export interface ContainerRecord {
  id: string;
  pid: number; // host pid of the container's init; 0 until create has it
  startTime: string; // its start time from /proc/PID/stat: a reused pid does not match
  bundle: string;
  rootfs: string;
  created: string; // RFC 3339
  owner: string;
  annotations?: Record<string, string>;
  creating?: { pid: number; startTime: string }; // the `create` that is still at work
  spec: Spec;
  /** The container's cgroups (absent for a container made before it had any). */
  cgroup?: CgroupRecord;
}

const ID_PATTERN = /^[\w+\-.]+$/;

export function defaultRoot(): string {
  if (process.getuid?.() === 0 || !process.env.XDG_RUNTIME_DIR) return '/run/ocirun';
  return path.join(process.env.XDG_RUNTIME_DIR, 'ocirun');
}

export function checkId(id: string): void {
  if (!id) throw new OcirunError('container id cannot be empty');
  if (!ID_PATTERN.test(id) || id === '.' || id === '..') throw new OcirunError(`invalid container id format: ${id}`);
}

/** One container's directory, locked for the lifetime of this handle. */
export class ContainerDir {
  private constructor(readonly root: string, readonly id: string, private fd: number) {}

  get dir(): string {
    return path.join(this.root, this.id);
  }
  get fifoPath(): string {
    return path.join(this.dir, 'exec.fifo');
  }

  /** Makes a new container directory (atomically: one of two racing creates wins) and locks it. */
  static async create(root: string, id: string): Promise<ContainerDir> {
    checkId(id);
    fs.mkdirSync(root, { recursive: true, mode: 0o711 });
    try {
      fs.mkdirSync(path.join(root, id), { mode: 0o711 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new OcirunError(`container "${id}" already exists`);
      throw err;
    }
    const fd = fs.openSync(path.join(root, id), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    await lock(fd);
    return new ContainerDir(root, id, fd);
  }

  /** Opens and locks an existing container; fails with `container "x" does not exist`. */
  static async open(root: string, id: string): Promise<ContainerDir> {
    checkId(id);
    let fd: number;
    try {
      fd = fs.openSync(path.join(root, id), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    } catch {
      throw notFound(id);
    }
    await lock(fd);
    const handle = new ContainerDir(root, id, fd);
    if (!fs.existsSync(handle.dir)) {
      handle.release();
      throw notFound(id); // deleted while we waited for the lock
    }
    return handle;
  }

  read(): ContainerRecord {
    return readRecord(this.root, this.id);
  }

  write(rec: ContainerRecord): void {
    const tmp = path.join(this.dir, `.state.json.${process.pid}`);
    fs.writeFileSync(tmp, JSON.stringify(rec));
    fs.renameSync(tmp, path.join(this.dir, 'state.json'));
  }

  /** Removes the directory (its lock goes with it). */
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
    this.release();
  }

  release(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** Reads a record without the lock: state.json is only ever replaced by rename, so a read sees a whole one. */
export function readRecord(root: string, id: string): ContainerRecord {
  checkId(id);
  try {
    return JSON.parse(fs.readFileSync(path.join(root, id, 'state.json'), 'utf8')) as ContainerRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync(path.join(root, id))) {
      // A create that died before writing anything: present, and stopped.
      return { id, pid: 0, startTime: '', bundle: '', rootfs: '', created: '', owner: '', spec: {} as Spec };
    }
    throw notFound(id);
  }
}

export function listIds(root: string): string[] {
  try {
    return fs.readdirSync(root).filter((n) => ID_PATTERN.test(n)).sort();
  } catch {
    return [];
  }
}
