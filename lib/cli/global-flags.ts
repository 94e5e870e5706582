// ocirun's global flags, and which of the two code caches of the CLI a command line starts from (read by
// dist/cli/start.js before the bundle is compiled, so kept apart from it: this module imports nothing).
import type { FlagSpec } from './args';

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'root', kind: 'string', help: 'root directory for container state (default /run/ocirun)' },
  { name: 'log', kind: 'string', help: 'log file (default: stderr)' },
  { name: 'log-format', kind: 'string', help: 'log format: text or json' },
  { name: 'debug', kind: 'bool', help: 'log debug output' },
  { name: 'systemd-cgroup', kind: 'bool', help: 'use the systemd cgroup driver' },
  { name: 'rootless', kind: 'string', help: 'rootless mode: true, false or auto' },
  { name: 'criu', kind: 'string', help: 'accepted for compatibility with runc' },
  { name: 'version', short: 'v', kind: 'bool', help: 'print the version' },
  { name: 'help', short: 'h', kind: 'bool', help: 'show help' },
];

/**
 * The commands that neither plan nor make a container. Their cache (build/Release/ocirun-light.cache) holds only
 * the code they ran in a warm-up of their own (lib/cli/warm-up.ts): half the full one, so that V8
 * deserialises ~0.4 ms less at each of these commands. A command line that goes elsewhere than the warm-up
 * went compiles what it lacks, as without a cache: slower, never wrong.
 */
export const LIGHT_COMMANDS = new Set(['state', 'list', 'kill', 'start', 'delete']);

/** The cache a command line starts from: 'ocirun-light' for LIGHT_COMMANDS and --version, else 'ocirun'. */
export function startCacheName(argv: string[]): 'ocirun' | 'ocirun-light' {
  const valued = new Set(GLOBAL_FLAGS.filter((f) => f.kind !== 'bool').map((f) => `--${f.name}`));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--version' || a === '-v') return 'ocirun-light';
    if (valued.has(a)) i++; // its value
    else if (!a.startsWith('-')) return LIGHT_COMMANDS.has(a) ? 'ocirun-light' : 'ocirun';
  }
  return 'ocirun';
}
