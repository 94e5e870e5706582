import * as fs from 'node:fs';
import * as path from 'node:path';

/** The pid, no trailing newline, written to a temp name and renamed into place (callers poll for it). */
export function writePidFile(file: string, pid: number): void {
  const target = path.resolve(file);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}`);
  fs.writeFileSync(tmp, String(pid));
  fs.renameSync(tmp, target);
}
