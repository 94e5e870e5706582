// A process's stdio from what containerd gives (CreateTaskRequest and ExecProcessRequest: stdin, stdout,
// stderr): fifo paths it reads and writes, "" for none, or a log URI (file:///path). The process gets the
// fifos themselves, with no copy through the shim: stdout and stderr opened read-write (they then always
// have a reader, so a containerd that restarts makes no write fail), stdin read-only (EOF once containerd
// closes its side, which is what CloseIO follows). With a terminal the shim copies between the fifos and
// the pty master instead.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tty from 'node:tty';
import { openFifo } from '../native';

export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
}

/** An output: a fifo path, or file:///path (appended to). */
function openOutput(where: string): number {
  if (where.startsWith('file://')) return fs.openSync(new URL(where).pathname, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o640);
  if (/^[a-z]+:\/\//.test(where)) throw new Error(`stdio ${where}: only fifos and file:// are supported`);
  return openFifo(where, true);
}

export class ProcessIO {
  /** stdin, stdout, stderr for the spawn; none with a terminal (the pty is the process's stdio). */
  readonly fds: [number, number, number] | undefined;
  private readonly owned: number[] = [];
  private copies: (() => void)[] = [];

  constructor(
    readonly paths: StdioPaths,
    terminal: boolean,
  ) {
    if (terminal) return;
    try {
      const nul = () => this.own(fs.openSync('/dev/null', fs.constants.O_RDWR));
      const stdin = paths.stdin ? this.own(openFifo(paths.stdin, false)) : nul();
      const stdout = paths.stdout ? this.own(openOutput(paths.stdout)) : nul();
      const stderr = paths.stderr ? (paths.stderr === paths.stdout ? stdout : this.own(openOutput(paths.stderr))) : nul();
      this.fds = [stdin, stdout, stderr];
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private own(fd: number): number {
    this.owned.push(fd);
    return fd;
  }

  /** Once the process holds its copies: ours are closed (then EOF reaches containerd when the process ends). */
  spawned(): void {
    for (const fd of this.owned.splice(0)) fs.closeSync(fd);
  }

  /**
   * A terminal: containerd's stdin fifo is copied into the pty master and the master's output into stdout.
   * `done` resolves when the pty's other side is closed and its output is written.
   */
  attachTerminal(master: number): Promise<void> {
    const out = this.paths.stdout ? openOutput(this.paths.stdout) : -1;
    if (this.paths.stdin) {
      const input = new net.Socket({ fd: fs.openSync(this.paths.stdin, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK), readable: true, writable: false });
      input.on('data', (chunk) => {
        try {
          fs.writeSync(master, chunk);
        } catch {
          /* the process side is gone */
        }
      });
      input.on('error', () => input.destroy());
      this.copies.push(() => input.destroy());
    }
    const reader = new tty.ReadStream(master);
    return new Promise((resolve) => {
      const finish = () => {
        reader.destroy();
        if (out >= 0) fs.closeSync(out);
        resolve();
      };
      reader.on('data', (chunk: Buffer) => {
        if (out >= 0) fs.writeSync(out, chunk);
      });
      // EIO: every fd of the pty's other side is closed.
      reader.on('error', finish);
      reader.on('end', finish);
    });
  }

  /** CloseIO: containerd closed stdin; with a terminal, the copy stops. */
  closeStdin(): void {
    for (const stop of this.copies.splice(0)) stop();
  }

  close(): void {
    this.closeStdin();
    for (const fd of this.owned.splice(0)) fs.closeSync(fd);
  }
}
