import * as fs from 'node:fs';
import { statusOf } from '../state/status';
import { OcirunError } from '../errors';
import type { CommonOptions } from './options';
import { withContainer, type Held } from './with-container';
import { runHooks } from '../hooks';
import { signalInit } from './kill';
import { waitGone } from './processes';
import { publicState } from './state';

/** Lets a created container's process exec the user program. */
export async function start(id: string, opts?: CommonOptions): Promise<void> {
  await withContainer(id, 'start', opts, (c) => startLocked(c, opts));
}

/**
 * start, of a container whose directory the caller holds locked and whose status it knows to be `created`
 * (run, straight after its create; an init that has died since is found at the fifo).
 */
export async function startLocked({ rec, dir }: Held, opts?: CommonOptions): Promise<void> {
  let fd: number;
  try {
    // Non-blocking: ENXIO means nobody holds the fifo any more, i.e. the init is gone.
    fd = fs.openSync(dir.fifoPath, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') throw new OcirunError('cannot start a container that has stopped');
    throw err;
  }
  try {
    fs.writeSync(fd, '0');
  } finally {
    fs.closeSync(fd);
  }
  fs.unlinkSync(dir.fifoPath);
  await afterStart({ rec, dir }, 'wrote exec.fifo', opts);
}

/**
 * What follows the start of the user program (`how` it was let go, for the debug line): the poststart hooks.
 * run calls it alone when its create let the init go on at the commit (createContainer's startAtCommit).
 */
export async function afterStart({ rec, dir }: Held, how: string, opts?: CommonOptions): Promise<void> {
  opts?.onDebug?.(`start: ${how}; init ${rec.pid} runs its startContainer hooks, then execs ${rec.spec.process.args[0]}`);
  if (!rec.spec.hooks?.poststart?.length) return;
  // runtime-spec 1.3: a failing poststart hook is an error; the container is stopped (the rest of its hooks
  // not run) and its lifecycle goes on at its destruction: the caller's delete, which runs poststop.
  try {
    await runHooks(rec.spec, 'poststart', publicState(rec, statusOf(rec, dir.dir)));
  } catch (err) {
    try {
      signalInit(rec, 9, opts);
    } catch {
      // already gone
    }
    await waitGone(rec);
    throw err;
  }
}
