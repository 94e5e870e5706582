// The CLI's output: write(2) on fds 1 and 2, not process.stdout/stderr. Node builds those streams on first
// use (a net.Socket for a pipe, which loads the stream and net modules), which costs milliseconds per command.
import * as fs from 'node:fs';

/** The streams a write fell back to (a full non-blocking pipe): the command exits once they are drained. */
const streamed = new Set<NodeJS.WriteStream>();

function write(fd: 1 | 2, text: string): void {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return; // the reader is gone, as with a stream
      if (code !== 'EAGAIN') throw err;
      // A non-blocking pipe that is full: the stream waits for it.
      const stream = fd === 1 ? process.stdout : process.stderr;
      stream.write(buf.subarray(off));
      streamed.add(stream);
      return;
    }
  }
}

export const print = (text: string): void => write(1, text);
export const printErr = (text: string): void => write(2, text);

/** Settles once every write is out: at once, unless one went to a stream that still holds some of it. */
export async function written(): Promise<void> {
  for (const stream of streamed)
    if (stream.writableLength > 0) await new Promise<void>((resolve) => stream.write('', () => resolve()));
}
