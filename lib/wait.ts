// The one way ocirun waits for a state of the kernel that has no fd of its own to wait on (a process has:
// its pidfd, see native watchExit). The condition is checked at once, then again whenever `watch` changes
// (a file the kernel signals through inotify, such as cgroup v2's cgroup.events) and, as a fallback for
// files that never signal (cgroup v1's), every `intervalMs`. Never blocks the event loop.
import * as fs from 'node:fs';

export interface WaitOptions {
  /** What is waited for, for the error: "the cgroup to be empty". */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** A file whose changes are worth a look. */
  watch?: string;
  /** Run before each check after the first (ask again: a v1 freezer may stop at FREEZING). */
  retry?: () => void;
}

export class WaitTimeout extends Error {}

export function waitUntil(done: () => boolean, o: WaitOptions): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let watcher: fs.FSWatcher | undefined;
    const finish = (err?: Error) => {
      clearInterval(tick);
      clearTimeout(limit);
      watcher?.close();
      if (err) reject(err);
      else resolve();
    };
    const check = () => {
      try {
        o.retry?.();
        if (done()) finish();
      } catch (err) {
        finish(err as Error);
      }
    };
    const tick = setInterval(check, o.intervalMs ?? 5);
    const limit = setTimeout(() => finish(new WaitTimeout(`timed out after ${o.timeoutMs ?? 10_000} ms waiting for ${o.what}`)), o.timeoutMs ?? 10_000);
    if (o.watch)
      try {
        watcher = fs.watch(o.watch, check);
        watcher.on('error', () => undefined); // the file went away with its cgroup: the interval still checks
      } catch {
        /* no inotify for it: the interval is all there is */
      }
  });
}
