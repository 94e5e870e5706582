import * as fs from 'node:fs';
import * as path from 'node:path';
import { OcirunError, systemErrorFrom } from '../errors';

/** Checked before anything is made: a pid file that cannot be written fails the command with nothing left. */
export function checkPidFileDir(file: string | undefined): void {
  if (!file) return;
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new OcirunError(`--pid-file ${path.resolve(file)}: the directory ${dir} does not exist`);
}

/** The pid, no trailing newline, written to a temp name and renamed into place (callers poll for it). */
export function writePidFile(file: string, pid: number): void {
  const target = path.resolve(file);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}`);
  try {
    fs.writeFileSync(tmp, String(pid));
  } catch (err) {
    throw systemErrorFrom(err, '--pid-file', 'write', tmp, 'pid-file');
  }
  fs.renameSync(tmp, target);
}
