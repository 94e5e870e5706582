// A real terminal for the tests that need one (ocirun run/exec -t, ctr -t, podman -it, docker -it): a shell
// command line on a fresh pty, its output read from the master until the last writer is gone.
//
// Not script(1): once its child exits, script reads the master for only ~10 ms more, and in the emulated
// guest the child's last output reaches the master later than that now and then (a CI run lost the last line
// of `ctr task exec -t`; podman's `run -it` lost all of it in 2 of 5 guest runs). Here the master is read until
// the kernel says EIO (every slave fd closed, the data before it delivered) or, when a daemon keeps a copy of
// the slave, until the child has exited and the master has been quiet for 2 s.
import { spawnSync } from 'node:child_process';

const PROXY = `
import errno, os, pty, select, sys
pid, master = pty.fork()
if pid == 0:
    os.execvp('sh', ['sh', '-c', sys.argv[1]])
if sys.argv[2]:
    os.write(master, sys.argv[2].encode())
out, status = bytearray(), None
while True:
    ready, _, _ = select.select([master], [], [], 0.1 if status is None else 2)
    if ready:
        try:
            chunk = os.read(master, 65536)
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            chunk = b''
        if not chunk:
            break
        out += chunk
    elif status is not None:
        break
    if status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
if status is None:
    status = os.waitpid(pid, 0)[1]
sys.stdout.buffer.write(out)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
`;

/**
 * Runs `sh -c cmdline` on a new pty (its controlling terminal); `input` is typed at once. Returns its exit
 * status and output, without the CRs a pty adds and the NULs some callers send into it (conmon does).
 */
export function inTerminal(cmdline, { input = '', timeout = 60_000, ...opts } = {}) {
  const r = spawnSync('python3', ['-c', PROXY, cmdline, input], { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (r.error) throw r.error;
  return { status: r.status, out: (r.stdout ?? '').replace(/[\r\0]|\^@/g, ''), stderr: r.stderr };
}
