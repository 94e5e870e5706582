import { waitForeground } from './processes';
import { createContainer, type CreateOptions } from './create';
import { proxyConsole, type ConsoleProxy } from './console';
import { destroy } from './delete';
import { startLocked } from './start';

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
  const { consoleFd, init, held } = await createContainer(id, opts, !opts.detach, true);
  let proxy: ConsoleProxy | undefined;
  try {
    try {
      if (consoleFd >= 0) proxy = proxyConsole(consoleFd);
      await startLocked(held, opts);
    } finally {
      held.dir.release();
    }
  } catch (err) {
    proxy?.close();
    await destroy(id, { ...opts, force: true }).catch(() => {});
    throw err;
  }
  if (opts.detach) return 0;
  try {
    return await waitForeground(init, proxy, opts.forwardSignals);
  } finally {
    if (!opts.keep) await destroy(id, { ...opts, force: true }).catch(() => {});
  }
}
