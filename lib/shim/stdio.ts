// A process's stdio from what containerd gives (CreateTaskRequest and ExecProcessRequest: stdin, stdout,
// stderr): fifo paths it reads and writes, "" for none, or a log URI (file:///path, or binary:///path?args
// for a logging program that reads the output from fds 3 and 4). The process gets the
// fifos themselves, with no copy through the shim: stdout and stderr opened read-write (they then always
// have a reader, so a containerd that restarts makes no write fail), stdin read-only (EOF once containerd
// closes its side, which is what CloseIO follows). With a terminal the shim copies between the fifos and
// the pty master instead.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tty from 'node:tty';
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { dupFd, openFifo, pipe, setNonBlocking, whenWritable } from '../native';

export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
}

/** An output: a fifo path, or file:///path (appended to). */
function openOutput(where: string): number {
  if (where.startsWith('file://')) return fs.openSync(new URL(where).pathname, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o640);
  if (/^[a-z]+:\/\//.test(where)) throw new Error(`stdio ${where}: only fifos, file:// and binary:// are supported`);
  return openFifo(where, true);
}

/** Which container a logging program writes for (its environment: CONTAINER_ID, CONTAINER_NAMESPACE). */
export interface LogContext {
  id: string;
  namespace: string;
}

/**
 * binary:///path?k=v: containerd's logging program, started as containerd's runc shim starts it: the
 * process's stdout and stderr on its fds 3 and 4 (pipes), and fd 5, which it closes once it is ready;
 * `ready` settles then (or rejects when it exits first).
 */
function startLogger(uri: string, ctx: LogContext): { stdout: number; stderr: number; ready: Promise<void> } {
  const u = new URL(uri);
  const args: string[] = [];
  for (const [k, v] of u.searchParams) args.push(k, ...(v ? [v] : []));
  const fds = [pipe(), pipe(), pipe()]; // stdout, stderr, ready: [read end, write end]
  try {
    const child = spawn(u.pathname, args, {
      stdio: ['ignore', 'ignore', 'ignore', fds[0][0], fds[1][0], fds[2][1]],
      env: { ...process.env, CONTAINER_ID: ctx.id, CONTAINER_NAMESPACE: ctx.namespace },
    });
    const readyEnd = new net.Socket({ fd: fds[2][0], readable: true, writable: false });
    const ready = new Promise<void>((resolve, reject) => {
      readyEnd.on('data', () => undefined);
      readyEnd.once('end', resolve);
      readyEnd.once('error', resolve);
      child.once('error', (err) => reject(new Error(`stdio ${uri}: ${err.message}`)));
      child.once('exit', (code) => reject(new Error(`stdio ${uri}: the logging program exited ${code} before it was ready`)));
    }).finally(() => readyEnd.destroy());
    for (const fd of [fds[0][0], fds[1][0], fds[2][1]]) fs.closeSync(fd);
    return { stdout: fds[0][1], stderr: fds[1][1], ready };
  } catch (err) {
    for (const [r, w] of fds) for (const fd of [r, w]) try { fs.closeSync(fd); } catch { /* closed */ }
    throw err;
  }
}

/** An output the shim itself writes (a terminal's copy): a fifo as a non-blocking stream, or a file. */
function outputStream(where: string): Writable {
  if (where.startsWith('file://')) return fs.createWriteStream(new URL(where).pathname, { flags: 'a', mode: 0o640 });
  const s = new net.Socket({ fd: fs.openSync(where, fs.constants.O_RDWR | fs.constants.O_NONBLOCK), readable: false, writable: true });
  s.on('error', () => s.destroy());
  return s;
}

/**
 * containerd's stdin into the pty master (`to`, a copy of the master's fd, owned and closed here). A pty holds
 * only so much input its process has not read: what does not fit waits, and the fifo is not read meanwhile,
 * until the master can be written again (dropped only once the process side is gone). Returns the stop.
 */
function copyInput(input: net.Socket, to: number): () => void {
  let pending: Buffer[] = [];
  let cancelWait: (() => void) | undefined;
  let stopped = false;
  const flush = () => {
    while (pending.length) {
      let n: number;
      try {
        n = fs.writeSync(to, pending[0]);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
        pending = []; // EIO: the process side is gone, and its input with it
        break;
      }
      pending[0] = pending[0].subarray(n);
      if (!pending[0].length) pending.shift();
    }
    if (!pending.length) return void input.resume();
    input.pause();
    try {
      cancelWait ??= whenWritable(to, () => {
        cancelWait = undefined;
        if (!stopped) flush();
      });
    } catch {
      pending = []; // no fd left to wait with (EMFILE): this input is lost, the next may fit
      input.resume();
    }
  };
  input.on('data', (chunk: Buffer) => {
    pending.push(chunk);
    flush();
  });
  return () => {
    if (stopped) return;
    stopped = true;
    cancelWait?.();
    pending = [];
    fs.closeSync(to);
  };
}

/**
 * At most this much is read from a pty once its process has exited: what the process wrote is in the pty's
 * buffers by then (the kernel holds some tens of KiB at most); more can only come from a background process
 * that still holds the terminal and writes on.
 */
const AT_EXIT_LIMIT = 1 << 20;

/**
 * What a non-blocking pty master holds: read until EIO (its other side closed), EAGAIN (open, but empty: the
 * kernel hands the master what the other side's writes left pending before it says so) or `limit` bytes.
 */
function readAvailable(fd: number, limit = Infinity): Buffer[] {
  const chunks: Buffer[] = [];
  for (let total = 0; total < limit; ) {
    const buf = Buffer.allocUnsafe(65536);
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch {
      return chunks; // EIO: nothing more; EAGAIN: nothing now
    }
    if (n === 0) return chunks;
    chunks.push(buf.subarray(0, n));
    total += n;
  }
  return chunks;
}

export class ProcessIO {
  /** stdin, stdout, stderr for the spawn; none with a terminal (the pty is the process's stdio). */
  readonly fds: [number, number, number] | undefined;
  /** Settles once a logging program (binary://) is ready for the process's output. */
  readonly ready: Promise<void> = Promise.resolve();
  private readonly owned: number[] = [];
  private copies: (() => void)[] = [];
  /** A terminal's copy: ends it after what the pty holds now (processExited), or drops what is unwritten. */
  private endOutput?: () => void;
  private dropOutput?: () => void;

  constructor(
    readonly paths: StdioPaths,
    terminal: boolean,
    log: LogContext,
  ) {
    if (terminal) return;
    try {
      const nul = () => this.own(fs.openSync('/dev/null', fs.constants.O_RDWR));
      const stdin = paths.stdin ? this.own(openFifo(paths.stdin, false)) : nul();
      let stdout: number;
      let stderr: number;
      if (paths.stdout.startsWith('binary://')) {
        // One logging program takes both (containerd names it for stdout and stderr alike).
        const logger = startLogger(paths.stdout, log);
        stdout = this.own(logger.stdout);
        stderr = this.own(logger.stderr);
        this.ready = logger.ready;
        this.ready.catch(() => undefined); // awaited before the spawn; a failure then is the caller's
      } else {
        stdout = paths.stdout ? this.own(openOutput(paths.stdout)) : nul();
        stderr = paths.stderr ? (paths.stderr === paths.stdout ? stdout : this.own(openOutput(paths.stderr))) : nul();
      }
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
   * The copy ends when the pty's other side is closed, or at processExited; the promise resolves once its
   * output is written (or dropped by discard).
   */
  attachTerminal(master: number): Promise<void> {
    // Non-blocking: libuv leaves a pty master blocking (it cannot reopen one), and a full terminal would then
    // stop the whole shim in the input's write. libuv reads it either way.
    setNonBlocking(master);
    // The copy never blocks the shim: a fifo is written through a non-blocking socket of libuv's (a
    // containerd that stopped reading holds the data back, not the event loop).
    const out = this.paths.stdout ? outputStream(this.paths.stdout) : undefined;
    const reader = new tty.ReadStream(master);
    if (this.paths.stdin) {
      const input = new net.Socket({ fd: fs.openSync(this.paths.stdin, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK), readable: true, writable: false });
      input.on('error', () => input.destroy());
      const stop = copyInput(input, dupFd(master));
      this.copies.push(() => {
        input.destroy();
        stop();
      });
    }
    // libuv ends a pty master's stream when the other side hangs up even if the kernel still holds output (it
    // takes a short read after POLLHUP for the end: libuv issue 4992). What is left is read through a copy of
    // the fd, until the kernel's EIO says there is no more.
    const rest = dupFd(master);
    return new Promise((resolve) => {
      let finished = false;
      const finish = (limit = Infinity) => {
        if (finished) return;
        finished = true;
        reader.destroy();
        for (const chunk of readAvailable(rest, limit)) if (out && !out.destroyed) out.write(chunk);
        fs.closeSync(rest);
        if (!out) return resolve();
        out.once('close', resolve);
        out.end(resolve);
      };
      this.endOutput = () => finish(AT_EXIT_LIMIT);
      this.dropOutput = () => out?.destroy();
      // Backpressure: while the output is full (a containerd that reads slowly, or not at all), the pty is not
      // read either, and the process blocks on its terminal as it would on a pipe; nothing piles up here.
      reader.on('data', (chunk: Buffer) => {
        if (!out || out.destroyed || out.write(chunk)) return;
        reader.pause();
        const resume = () => {
          out.off('drain', resume).off('close', resume);
          reader.resume();
        };
        out.on('drain', resume).on('close', resume);
      });
      // EIO: every fd of the pty's other side is closed.
      reader.on('error', () => finish());
      reader.on('end', () => finish());
    });
  }

  /**
   * The process has exited: a terminal's copy takes what the pty holds now and ends, without waiting for the
   * pty's other side to close. A background process may hold that for as long as it lives, and the exit is not
   * to wait for it: containerd's runc shim ends its copy at the exit too (dropping what the pty still held).
   */
  processExited(): void {
    this.endOutput?.();
  }

  /** Delete: a terminal's output that no reader took yet is dropped (its fifo closed). */
  discard(): void {
    this.dropOutput?.();
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
