import { waitForeground } from './processes';
import { createContainer, type CreateOptions } from './create';
import { proxyConsole, type ConsoleProxy } from './console';
import { destroy } from './delete';
import { start } from './start';

export interface RunOptions extends CreateOptions {
  /** Return once the container has started instead of waiting for it. */
  detach?: boolean;
  /** Keep the stopped container instead of deleting it (foreground only). */
  keep?: boolean;
}

/**
 * create + start. In the foreground, signals this process receives go to the container, and the result is the
 * container's exit status (128+N when signal N killed it). Must be called by the process that will reap the
 * container, i.e. the one that created it.
 */
export async function run(id: string, opts: RunOptions): Promise<number> {
  const { state: st, consoleFd } = await createContainer(id, opts, !opts.detach);
  let proxy: ConsoleProxy | undefined;
  try {
    if (consoleFd >= 0) proxy = proxyConsole(consoleFd);
    await start(id, opts);
  } catch (err) {
    proxy?.close();
    await destroy(id, { ...opts, force: true }).catch(() => {});
    throw err;
  }
  if (opts.detach) return 0;
  try {
    return await waitForeground(st.pid, proxy);
  } finally {
    if (!opts.keep) await destroy(id, { ...opts, force: true }).catch(() => {});
  }
}
