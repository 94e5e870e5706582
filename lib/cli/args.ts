// runc's command-line grammar: global flags, a command, its flags, then positional arguments.
// `--flag value`, `--flag=value`, `-f value`, single-dash long flags (`-no-subreaper`), repeated flags (the
// last wins, or all are kept for list flags like `exec -e`), and `--` ending the flags. Flags stop at the
// first positional argument, so that `exec ID cmd --opt` keeps `--opt` for cmd; but as in runc (urfave/cli's
// argument reordering), most commands first move their own flags from after the arguments to before them:
// `delete ID --force`, `kill ID TERM --all`.
import { OcirunError } from '../errors';

export type FlagKind = 'bool' | 'string' | 'int' | 'list';

export interface FlagSpec {
  name: string;
  short?: string;
  kind: FlagKind;
  help: string;
}

export type FlagValues = Record<string, string | boolean | number | string[] | undefined>;

/** A string flag's value, or undefined. */
export const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export interface Parsed {
  flags: FlagValues;
  rest: string[];
}

const BOOL_WORDS: Record<string, boolean> = { true: true, '1': true, false: false, '0': false };

/** `--name=value`, `-name`, `-n`: the flag's name and its value after `=`; undefined for an argument. */
function flagWord(arg: string): { word: string; value: string | undefined } | undefined {
  if (!arg.startsWith('-') || arg === '-') return undefined;
  const body = arg.replace(/^--?/, '');
  const eq = body.indexOf('=');
  return eq >= 0 ? { word: body.slice(0, eq), value: body.slice(eq + 1) } : { word: body, value: undefined };
}

function findFlag(specs: FlagSpec[], word: string): FlagSpec | undefined {
  return specs.find((s) => s.name === word || s.short === word);
}

/**
 * The command's own flags that follow its arguments, moved in front of them (with the value of a flag that
 * takes one and has no `=`), as urfave/cli v1 does for runc's commands but `exec` and `ps`. Nothing after `--`
 * moves; a word that is not one of the command's flags stays where it is. Unlike urfave/cli, the word after
 * a boolean flag stays an argument (`kill ID --all TERM` signals ID with TERM; runc would take TERM for the id).
 */
export function reorderArgs(argv: string[], specs: FlagSpec[]): string[] {
  const moved: string[] = [];
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      args.push(...argv.slice(i));
      break;
    }
    const flag = flagWord(arg);
    const spec = flag && findFlag(specs, flag.word);
    if (!spec) {
      args.push(arg);
      continue;
    }
    moved.push(arg);
    if (spec.kind !== 'bool' && flag.value === undefined && i + 1 < argv.length) moved.push(argv[++i]);
  }
  return [...moved, ...args];
}

/** Parses flags from argv until the first positional argument (or `--`). */
export function parseFlags(argv: string[], specs: FlagSpec[], context: string): Parsed {
  const flags: FlagValues = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    const flag = flagWord(arg);
    if (!flag) break;
    const { word } = flag;
    const spec = findFlag(specs, word);
    if (!spec) throw new OcirunError(`${context}: flag provided but not defined: -${word}`);
    let value = flag.value;
    if (spec.kind === 'bool') {
      if (value === undefined) flags[spec.name] = true;
      else if (value in BOOL_WORDS) flags[spec.name] = BOOL_WORDS[value];
      else throw new OcirunError(`${context}: invalid boolean value "${value}" for -${word}`);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new OcirunError(`${context}: flag needs an argument: -${word}`);
      value = argv[++i];
    }
    if (spec.kind === 'list') {
      flags[spec.name] = [...((flags[spec.name] as string[] | undefined) ?? []), value];
    } else if (spec.kind === 'int') {
      if (!/^-?\d+$/.test(value)) throw new OcirunError(`${context}: invalid value "${value}" for flag -${word}`);
      flags[spec.name] = Number(value);
    } else {
      flags[spec.name] = value;
    }
  }
  return { flags, rest: argv.slice(i) };
}

export function flagHelp(specs: FlagSpec[]): string {
  return specs
    .map((s) => {
      const names = (s.short ? `-${s.short}, ` : '    ') + `--${s.name}` + (s.kind === 'bool' ? '' : ' value');
      return `   ${names.padEnd(28)} ${s.help}`;
    })
    .join('\n');
}
