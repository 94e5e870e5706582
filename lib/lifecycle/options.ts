import * as fs from 'node:fs';
import { OcirunError } from '../errors';
import { pidfdOpen, sendFd } from '../native';
import { defaultRoot } from '../state/store';

/** Options every lifecycle verb takes. */
export interface CommonOptions {
  /** State directory; default /run/ocirun as root, $XDG_RUNTIME_DIR/ocirun otherwise. */
  root?: string;
  /** Receives warnings (a capability the kernel lacks, a failing poststart hook, ...). Default: ignored. */
  onWarning?: (msg: string) => void;
  /** Receives a line for each step taken (the CLI's --debug). Default: ignored. */
  onDebug?: (msg: string) => void;
}

export const rootOf = (o: CommonOptions | undefined) => o?.root ?? defaultRoot();

/**
 * --pidfd-socket: a pidfd of the process (the container's init, or exec's process) goes to the AF_UNIX
 * socket at `socket` (SCM_RIGHTS, with the payload "pidfd"), so that the caller holds the process itself,
 * not a number that may be reused.
 */
export function sendPidfd(socket: string, pid: number, startTime = ''): void {
  const fd = pidfdOpen(pid, startTime);
  if (fd < 0) throw new OcirunError(`--pidfd-socket: process ${pid} is gone`);
  try {
    sendFd(socket, 'pidfd', fd);
  } finally {
    fs.closeSync(fd);
  }
}
