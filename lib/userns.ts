// Whether this process runs in a user namespace other than the host's: its uid_map is not the identity. So it
// is under rootless podman, which starts the runtime as root of its own user namespace. Read once: a process
// cannot leave its user namespace, and a multithreaded one (Node) cannot enter another.
import * as fs from 'node:fs';

let inside: boolean | undefined;

export function inUserNamespace(): boolean {
  if (inside === undefined)
    try {
      inside = !/^\s*0\s+0\s+4294967295\s*$/.test(fs.readFileSync('/proc/self/uid_map', 'utf8'));
    } catch {
      inside = false;
    }
  return inside;
}
