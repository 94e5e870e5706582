// The runtime's mount table (/proc/self/mountinfo), read once per process: the cgroup hierarchies, resctrl and
// the host's proc and sysfs mounts all come from this one read.
import * as fs from 'node:fs';

export interface MountEntry {
  /** The path within its filesystem that is mounted ("/" for a whole filesystem). */
  root: string;
  mountPoint: string;
  fstype: string;
  superOpts: string;
}

let table: MountEntry[] | undefined;

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function mountTable(): MountEntry[] {
  if (table) return table;
  table = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(' ');
    const [fstype, , superOpts] = line.slice(sep + 3).split(' ');
    table.push({ root: unescape(fields[3]), mountPoint: unescape(fields[4]), fstype, superOpts });
  }
  return table;
}
