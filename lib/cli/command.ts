// What a command is (its table entry) and the pieces entries share; the tables are commands.ts and
// cgroup-commands.ts.
import type { FlagSpec, FlagValues } from './args';

export interface Globals {
  root?: string;
  warn?: (msg: string) => void;
  /** Set with --debug: one line per step. */
  debug?: (msg: string) => void;
  /** --systemd-cgroup: a new container's cgroup is a systemd scope. */
  systemdCgroup?: boolean;
  /** --rootless (auto: not root, or root of a user namespace that is not the host's). */
  rootless?: boolean;
}

export interface Command {
  name: string;
  usage: string; // after "ocirun <name> "
  summary: string;
  flags: FlagSpec[];
  args: [min: number, max: number];
  /** Flags only before the arguments, which may look like flags themselves (runc's SkipArgReorder: exec, ps). */
  keepArgOrder?: boolean;
  /** The exit status when the command fails (1 unless runc uses another: exec's is 255). */
  errorStatus?: number;
  /** Put before the message of a failure once the command line is read (runc's exec: "exec failed: "). */
  errorPrefix?: string;
  run(flags: FlagValues, args: string[], g: Globals): Promise<number>;
}

/** A command that takes one container id and does one thing to it; 0 once done. */
export function idCommand(name: string, summary: string, act: (id: string, g: Globals) => Promise<unknown>): Command {
  return { name, usage: '<container-id>', summary, flags: [], args: [1, 1], run: async (_f, [id], g) => (await act(id, g), 0) };
}

export const formatFlag: FlagSpec = { name: 'format', short: 'f', kind: 'string', help: 'table or json (default table)' };
