import { waitForeground } from './processes';
import { createContainer, type CreateOptions } from './create';
import { proxyConsole, type ConsoleProxy } from './console';
import { deleteReaped, destroy } from './delete';
import { afterStart, startLocked } from './start';

export interface RunOptions extends CreateOptions {
  /** Return once the container has started instead of waiting for it. */
  detach?: boolean;
  /** Keep the stopped container instead of deleting it (foreground only). */
  keep?: boolean;
  /** In the foreground, pass the signals this process receives to the container (the CLI does). */
  forwardSignals?: boolean;
}

/**
 * create + start. In the foreground the result is the container's exit status (128+N when signal N killed
 * it); the init is this process's child, reaped here either way.
 */
export async function run(id: string, opts: RunOptions): Promise<number> {
  // Created and started under one hold of its lock, as one command: nobody else's start, kill or delete comes
  // in between, and start acts on the record create just wrote instead of reading it back.
  // The init goes on to the user program at its commit, without exec.fifo, unless a terminal is proxied here.
  const { consoleFd, init, held, started } = await createContainer(id, opts, { foregroundTerminal: !opts.detach, keepLocked: true, startAtCommit: true });
  let proxy: ConsoleProxy | undefined;
  try {
    try {
      if (consoleFd >= 0) proxy = proxyConsole(consoleFd);
      if (started) await afterStart(held, 'at the commit (run)', opts);
      else await startLocked(held, opts);
    } finally {
      // The directory stays open, unlocked, for run's own delete (deleteReaped) once the container exits.
      if (opts.detach || opts.keep) held.dir.release();
      else held.dir.unlock();
    }
  } catch (err) {
    held.dir.release();
    proxy?.close();
    await destroy(id, { ...opts, force: true }).catch(() => {});
    throw err;
  }
  if (opts.detach) return 0;
  let reaped = false;
  try {
    const status = await waitForeground(init, proxy, opts.forwardSignals);
    reaped = true;
    return status;
  } finally {
    if (opts.keep) {
      // kept: its directory was released at its start
    } else if (reaped) {
      await deleteReaped(held, opts).catch(() => {});
    } else {
      held.dir.release();
      await destroy(id, { ...opts, force: true }).catch(() => {});
    }
  }
}
