// Container state on disk: <root>/<id>/state.json (written atomically) and exec.fifo (present between create
// and start). Operations on one container are serialised by flock on its directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OcirunError, SystemError, notFound } from '../errors';
import { lock, makeStateDir, replaceFileAt, unlock as unlockFd } from '../native';
import type { Spec } from '../config/spec';
import type { CgroupRecord } from '../cgroups/manager';
import { inUserNamespace } from '../userns';

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

/**
 * The default --root: /run/ocirun for the real root; $XDG_RUNTIME_DIR/ocirun for anyone else, including root of
 * a user namespace that is not the host's (rootless podman runs the runtime so), unless USER says root (runc's
 * rule).
 */
export function defaultRoot(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (!xdg) return '/run/ocirun';
  if (process.geteuid?.() !== 0) return path.join(xdg, 'ocirun');
  if (!inUserNamespace() || process.env.USER === 'root') return '/run/ocirun';
  return path.join(xdg, 'ocirun');
}

export function checkId(id: string): void {
  if (!id) throw new OcirunError('container id cannot be empty');
  if (!ID_PATTERN.test(id) || id === '.' || id === '..') throw new OcirunError(`invalid container id format: ${id}`);
}

let tmpSeq = 0;

/**
 * Whether the file `fd` is open on is still the one at `file`: a lock held on one that was unlinked (or
 * replaced) while we waited for it locks nothing. undefined: nothing is at `file` now.
 */
export function stillAt(fd: number, file: string): boolean | undefined {
  const now = fs.statSync(file, { throwIfNoEntry: false });
  if (!now) return undefined;
  const held = fs.fstatSync(fd);
  return now.ino === held.ino && now.dev === held.dev;
}

/** One container's directory, locked for the lifetime of this handle (unless unlocked, for run). */
export class ContainerDir {
  private locked = true;
  private constructor(readonly root: string, readonly id: string, private fd: number) {}

  get dir(): string {
    return path.join(this.root, this.id);
  }
  get fifoPath(): string {
    return path.join(this.dir, 'exec.fifo');
  }

  /**
   * Makes a new container directory with its first record, locked, in one step: it is prepared and locked
   * under a hidden name (one `list` skips) and renamed into place without replacing anything, so nobody can
   * see a container without its record, or a record nobody holds; of two racing creates exactly one wins.
   * One native call (native/src/state_dir.h): its dozen syscalls without Node's fs layer around each.
   */
  static create(root: string, id: string, rec: ContainerRecord): ContainerDir {
    checkId(id);
    // Unique to this call (a library process may run two creates of one id at once); not a valid id.
    const tmp = `.creating:${id}:${process.pid}:${(tmpSeq++).toString(36)}`;
    const record = JSON.stringify(rec);
    const make = () => {
      try {
        return makeStateDir(root, tmp, id, record);
      } catch (err) {
        throw aboutState(id, 'making its state directory', err);
      }
    };
    let made = make();
    if (made === 'no-root') {
      // An unprivileged user's state is its own: nobody else may even look in (runc's rootless root is 0700).
      fs.mkdirSync(root, { recursive: true, mode: process.geteuid?.() === 0 ? 0o711 : 0o700 });
      made = make();
    }
    if (made === 'exists') throw new OcirunError(`container "${id}" already exists`);
    if (made === 'no-root') throw new OcirunError(`state root ${root}: removed while a container was being made in it`);
    return new ContainerDir(root, id, made);
  }

  /**
   * Opens and locks an existing container; fails with `container "x" does not exist`. The lock is taken on
   * the directory that is at the path once it is held: one deleted (and maybe made again) while we waited
   * is not the one we hold, so we look again.
   */
  static async open(root: string, id: string): Promise<ContainerDir> {
    checkId(id);
    const dir = path.join(root, id);
    for (;;) {
      let fd: number;
      try {
        fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      } catch {
        throw notFound(id);
      }
      await lock(fd);
      const at = stillAt(fd, dir);
      if (at) return new ContainerDir(root, id, fd);
      fs.closeSync(fd);
      if (at === undefined) throw notFound(id); // deleted while we waited
    }
  }

  read(): ContainerRecord {
    return readRecord(this.root, this.id);
  }

  /**
   * Replaces the record, atomically but not synced to disk: nothing a record describes (processes, cgroups,
   * mounts) outlives a machine crash, and a record a crash cut short reads as damaged, which `delete --force`
   * clears (runc and crun do not sync theirs either).
   */
  write(rec: ContainerRecord): void {
    if (this.fd < 0 || !this.locked) throw new Error(`container "${this.id}": its record is written only while its lock is held`);
    try {
      replaceFileAt(this.fd, 'state.json', JSON.stringify(rec), 0o600, this.dir);
    } catch (err) {
      throw aboutState(this.id, 'writing its record', err);
    }
  }

  /**
   * Removes the directory (its lock goes with it): first renamed out of the way under a hidden name, so that
   * nobody sees it half removed, then removed.
   */
  remove(): void {
    const gone = path.join(this.root, `.deleting:${this.id}:${process.pid}:${(tmpSeq++).toString(36)}`);
    try {
      fs.renameSync(this.dir, gone);
    } catch {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
    removeTree(gone);
    this.release();
  }

  /**
   * Lets other operations act on the container while this handle keeps its directory open (run, while its
   * container runs); relock() takes the lock again, on this same directory.
   */
  unlock(): void {
    if (this.fd < 0 || !this.locked) return;
    unlockFd(this.fd);
    this.locked = false;
  }

  /**
   * The lock again after unlock(): false, and the handle released, when the directory is no longer at its path
   * (deleted meanwhile, and maybe made anew by another create: not ours).
   */
  async relock(): Promise<boolean> {
    if (this.fd < 0) return false;
    await lock(this.fd);
    this.locked = true;
    if (stillAt(this.fd, this.dir)) return true;
    this.release();
    return false;
  }

  release(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * A container's directory holds files (and rarely a directory), removed without fs.rmSync's walk. A started
 * container's holds its record alone (start unlinks exec.fifo): unlinked by name, then the directory, which is
 * listed only when something else is left in it.
 */
function removeTree(dir: string): void {
  try {
    fs.unlinkSync(path.join(dir, 'state.json'));
  } catch {
    /* none (a damaged container's), or the directory is not there */
  }
  try {
    return fs.rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // renaming it away failed and it was removed in place
  }
  for (const n of fs.readdirSync(dir)) {
    try {
      fs.unlinkSync(path.join(dir, n));
    } catch {
      fs.rmSync(path.join(dir, n), { recursive: true, force: true });
    }
  }
  fs.rmdirSync(dir);
}

/** A failure of the state directory's native calls, said to be about container `id` (its fields kept). */
function aboutState(id: string, doing: string, err: unknown): unknown {
  if (!(err instanceof SystemError)) return err;
  return new SystemError(`container "${id}": ${doing}: ${err.message}`, { code: err.code, errno: err.errno, syscall: err.syscall, path: err.path });
}

/** state.json that is there but cannot be read as a record (truncated, emptied, edited by hand). */
export class DamagedState extends OcirunError {
  constructor(readonly id: string, why: string) {
    super(`container "${id}": its state.json is damaged (${why}); "delete --force ${id}" removes what is left`);
  }
}

/** Reads a record without the lock: state.json is only ever replaced by rename, so a read sees a whole one. */
export function readRecord(root: string, id: string): ContainerRecord {
  checkId(id);
  let text: string;
  try {
    text = fs.readFileSync(path.join(root, id, 'state.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync(path.join(root, id))) {
      // A directory of an older version's create that died before writing anything: present, and stopped.
      return { id, pid: 0, startTime: '', bundle: '', rootfs: '', created: '', owner: '', spec: {} as Spec };
    }
    throw notFound(id);
  }
  let rec: ContainerRecord;
  try {
    rec = JSON.parse(text) as ContainerRecord;
  } catch (err) {
    throw new DamagedState(id, (err as Error).message);
  }
  if (!rec || typeof rec !== 'object' || rec.id !== id || typeof rec.pid !== 'number') throw new DamagedState(id, 'not a container record');
  return rec;
}

export function listIds(root: string): string[] {
  try {
    return fs.readdirSync(root).filter((n) => ID_PATTERN.test(n)).sort();
  } catch {
    return [];
  }
}
