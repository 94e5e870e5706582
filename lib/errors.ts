// Errors the runtime reports. Every one carries a message that callers may match (contract.md), and the CLI
// turns any of them into exit code 1 and one line on stderr (and one `error` line in a JSON log).
import type { Step } from './steps';

/** Something the user asked for cannot be done: bad config, unknown container, wrong state. */
export class OcirunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OcirunError';
  }
}

/** config.json does not satisfy the runtime-spec; `pointer` is the JSON pointer of the offending field. */
export class ConfigError extends OcirunError {
  constructor(readonly pointer: string, problem: string) {
    super(`${pointer}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** A failure of the native isolation path, shaped like Node's system errors plus the init step. */
export class SystemError extends OcirunError {
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  /** Where it failed: one of the steps both sides share (steps.ts, native/src/steps.h). */
  step?: Step;
  constructor(message: string, fields: Partial<Pick<SystemError, 'code' | 'errno' | 'syscall' | 'path' | 'step'>>) {
    super(message);
    this.name = 'SystemError';
    Object.assign(this, fields);
  }
}

/** What a failed fs call of Node's says, without its code and path: "no such file or directory". */
export const errnoText = (e: NodeJS.ErrnoException) => e.message.replace(/^\w+: /, '').replace(/,.*$/, '');

/**
 * A failed fs call of Node's, as a SystemError that names what was being done, the syscall and the path:
 * "cgroup: mkdir /sys/fs/cgroup/x: permission denied (EACCES)". (Node's own message for a failed write
 * names neither the file nor the step.)
 */
export function systemErrorFrom(err: unknown, what: string, syscall: string, path: string, step: Step): SystemError {
  const e = err as NodeJS.ErrnoException;
  const text = e.code ? `${errnoText(e)} (${e.code})` : String(err);
  return new SystemError(`${what}: ${syscall} ${path}: ${text}`, { code: e.code, errno: e.errno, syscall, path, step });
}

export const notFound = (id: string) => new OcirunError(`container "${id}" does not exist`);
