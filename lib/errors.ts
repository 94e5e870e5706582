// Errors the runtime reports. Every one carries a message that callers may match (contract.md), and the CLI
// turns any of them into exit code 1 and one line on stderr (and one `error` line in a JSON log).

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
  step?: string;
  constructor(message: string, fields: Partial<Pick<SystemError, 'code' | 'errno' | 'syscall' | 'path' | 'step'>>) {
    super(message);
    this.name = 'SystemError';
    Object.assign(this, fields);
  }
}

export const notFound = (id: string) => new OcirunError(`container "${id}" does not exist`);
