// The foreground terminal of `run` and `exec -t` without a console socket: the runtime holds the pty master
// and copies between it and its own stdio, with its own terminal in raw mode and the window size forwarded.
import * as fs from 'node:fs';
import { setWinsize } from '../native';

export interface ConsoleProxy {
  /** Resolves once the container side of the pty is closed and all output is written. */
  drained: Promise<void>;
  /** Restores the caller's terminal and stops reading stdin. */
  close(): void;
}

export function proxyConsole(master: number): ConsoleProxy {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  const resize = () => {
    if (process.stdout.isTTY) setWinsize(master, process.stdout.rows, process.stdout.columns);
  };
  resize();
  process.on('SIGWINCH', resize);
  const input = (chunk: Buffer) => {
    try {
      fs.writeSync(master, chunk);
    } catch {
      /* the container side is gone */
    }
  };
  stdin.on('data', input);
  stdin.resume();

  const drained = new Promise<void>((resolve) => {
    const buf = Buffer.alloc(16384);
    const pump = () =>
      fs.read(master, buf, 0, buf.length, null, (err, n) => {
        // EIO: every fd of the pty's other side is closed, i.e. the process and its children are done.
        if (err || n === 0) return resolve();
        process.stdout.write(buf.subarray(0, n), () => pump());
      });
    pump();
  });

  return {
    drained,
    close() {
      process.off('SIGWINCH', resize);
      stdin.off('data', input);
      stdin.pause();
      if (raw) stdin.setRawMode(false);
      try {
        fs.closeSync(master);
      } catch {
        /* closed already */
      }
    },
  };
}
