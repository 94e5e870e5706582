// Whether this process runs in a user namespace other than the host's: its uid_map is not the identity. So it
// is under rootless podman, which starts the runtime as root of its own user namespace.
import * as fs from 'node:fs';

export function inUserNamespace(): boolean {
  try {
    return !/^\s*0\s+0\s+4294967295\s*$/.test(fs.readFileSync('/proc/self/uid_map', 'utf8'));
  } catch {
    return false;
  }
}
