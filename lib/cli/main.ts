// The ocirun command: global flags, then one command (see commands.ts). Errors become one message on stderr,
// one `error` line in the --log file, and exit code 1.
import * as fs from 'node:fs';
import { flagHelp, parseFlags, reorderArgs } from './args';
import { GLOBAL_FLAGS } from './global-flags';
import { COMMANDS, type Command } from './commands';
import { logLine, type LogConfig } from './log';
import { print, printErr } from './output';
import { ConfigError, OcirunError } from '../errors';
import { COMMIT, SPEC_VERSION, VERSION } from '../version';

let startMode = 'the plain bundle';
/** How this process's code was compiled (entry.ts): reported by --debug. */
export function setStartMode(mode: string): void {
  startMode = mode;
}

/**
 * runc's --rootless: true, false, or auto (the default), left undefined so that create decides it (not root, or
 * in a user namespace), as for library callers: no command pays for the check but the one that needs it.
 */
function rootlessMode(value: string | undefined): boolean | undefined {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (value !== undefined && value !== 'auto') throw new OcirunError(`--rootless: invalid value ${value} (true, false or auto)`);
  return undefined;
}

const versionText = () => `ocirun version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}\n`;

function mainHelp(): string {
  const cmds = COMMANDS.map((c) => `   ${c.name.padEnd(10)} ${c.summary}`).join('\n');
  return `ocirun: an OCI container runtime\n\nUSAGE:\n   ocirun [global options] command [command options] [arguments...]\n\nCOMMANDS:\n${cmds}\n   help       show help for a command\n\nGLOBAL OPTIONS:\n${flagHelp(GLOBAL_FLAGS)}\n`;
}

/** An unknown command or help topic: runc's words and exit status 3. */
function noHelpTopic(name: string): number {
  printErr(`ocirun: No help topic for '${name}'\n`);
  return 3;
}

const commandHelp = (c: Command) =>
  `NAME:\n   ocirun ${c.name} - ${c.summary}\n\nUSAGE:\n   ocirun ${c.name} ${c.usage}\n` +
  (c.flags.length ? `\nOPTIONS:\n${flagHelp(c.flags)}\n` : '');

export async function main(argv: string[]): Promise<number> {
  const log: LogConfig = { format: 'text', debug: false };
  let failStatus = 1;
  let failPrefix = '';
  try {
    const g = parseFlags(argv, GLOBAL_FLAGS, 'ocirun');
    log.file = g.flags.log as string | undefined;
    const fmt = (g.flags['log-format'] as string | undefined) ?? 'text';
    if (fmt !== 'text' && fmt !== 'json') throw new OcirunError(`invalid log-format: ${fmt}`);
    log.format = fmt;
    log.debug = g.flags.debug === true;
    if (g.flags.version) return void print(versionText()), 0;
    const [name, ...rest] = g.rest;
    if (!name || g.flags.help) return void print(mainHelp()), 0;
    if (name === 'help') {
      if (!rest[0]) return void print(mainHelp()), 0;
      const c = COMMANDS.find((x) => x.name === rest[0]);
      if (!c) return noHelpTopic(rest[0]);
      print(commandHelp(c));
      return 0;
    }
    if (name === 'version') return void print(versionText()), 0;
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!cmd) return noHelpTopic(name);
    const systemdCgroup = g.flags['systemd-cgroup'] === true;
    const rootless = rootlessMode(g.flags.rootless as string | undefined);
    if (systemdCgroup && !fs.existsSync('/run/systemd/system'))
      throw new OcirunError('--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); use the cgroupfs driver');
    const specs = [...cmd.flags, { name: 'help', short: 'h', kind: 'bool' as const, help: 'show help' }];
    const p = parseFlags(cmd.keepArgOrder ? rest : reorderArgs(rest, specs), specs, name);
    if (p.flags.help) return void print(commandHelp(cmd)), 0;
    const [min, max] = cmd.args;
    if (p.rest.length < min || p.rest.length > max) {
      const what = min === max ? `exactly ${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new OcirunError(`"${name}" requires ${what} argument(s)\nUsage: ocirun ${name} ${cmd.usage}`);
    }
    failStatus = cmd.errorStatus ?? 1;
    failPrefix = cmd.errorPrefix ?? '';
    logLine(log, 'debug', `ocirun ${argv.join(' ')}`);
    logLine(log, 'debug', `started from ${startMode}`);
    const warn = (msg: string) => logLine(log, 'warning', msg);
    const debug = log.debug ? (msg: string) => logLine(log, 'debug', msg) : undefined;
    return await cmd.run(p.flags, p.rest, { root: g.flags.root as string | undefined, warn, debug, systemdCgroup, rootless });
  } catch (err) {
    const msg = failPrefix + (err instanceof Error ? err.message : String(err));
    if (log.file) {
      try {
        logLine(log, 'error', msg);
      } catch {
        /* the log is best effort; stderr below is not */
      }
    }
    printErr(`ocirun: ${msg}\n`);
    if (!(err instanceof OcirunError) && log.debug && err instanceof Error) printErr(`${err.stack}\n`);
    return err instanceof ConfigError ? 1 : failStatus; // bad input that names its field: always 1
  }
}
