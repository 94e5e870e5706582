// The commands that act on a container's cgroups: pause, resume, ps, update, events.
import * as fs from 'node:fs';
import { errnoText, OcirunError } from '../errors';
import type { Resources } from '../cgroups/types';
import { str, type FlagSpec, type FlagValues } from './args';
import { formatFlag, idCommand, type Command } from './command';
import { print } from './output';

/** Sizes as runc's update takes them (docker's RAMInBytes): 1024, 512k, 100m, 1.5g, 2GiB; -1 for unlimited. */
export function parseBytes(flag: string, s: string): number {
  if (s === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(s);
  if (!m) throw new OcirunError(`invalid value for --${flag}: ${s}`);
  const mult = 1024 ** ' kmgtp'.indexOf(m[2].toLowerCase() || ' ');
  return Math.floor(Number(m[1]) * mult);
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, '\u00b5s': 1e-3, '\u03bcs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g;
const DURATION = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+|0)$/;

/** Go durations as runc's --interval takes them (5s, 100ms, 1m30s, .5s), in ms; like runc, only > 0. */
export function parseDuration(s: string): number {
  const m = DURATION.exec(s);
  if (!m) throw new OcirunError(`invalid value for --interval: ${s}`);
  let ms = 0;
  for (const [, n, u] of m[2].matchAll(DURATION_PART)) ms += Number(n) * DURATION_UNITS[u];
  if (m[1] === '-' || !(ms > 0)) throw new OcirunError('duration interval must be greater than 0');
  return ms;
}

const UPDATE_FLAGS: [flag: string, section: 'memory' | 'cpu' | 'pids' | 'blockIO', field: string, kind: 'bytes' | 'int' | 'string'][] = [
  ['memory', 'memory', 'limit', 'bytes'],
  ['memory-reservation', 'memory', 'reservation', 'bytes'],
  ['memory-swap', 'memory', 'swap', 'bytes'],
  ['kernel-memory', 'memory', 'kernel', 'bytes'],
  ['kernel-memory-tcp', 'memory', 'kernelTCP', 'bytes'],
  ['cpu-share', 'cpu', 'shares', 'int'],
  ['cpu-quota', 'cpu', 'quota', 'int'],
  ['cpu-period', 'cpu', 'period', 'int'],
  ['cpu-burst', 'cpu', 'burst', 'int'],
  ['cpu-rt-period', 'cpu', 'realtimePeriod', 'int'],
  ['cpu-rt-runtime', 'cpu', 'realtimeRuntime', 'int'],
  ['cpu-idle', 'cpu', 'idle', 'int'],
  ['cpuset-cpus', 'cpu', 'cpus', 'string'],
  ['cpuset-mems', 'cpu', 'mems', 'string'],
  ['pids-limit', 'pids', 'limit', 'int'],
  ['blkio-weight', 'blockIO', 'weight', 'int'],
];

const updateFlagSpecs: FlagSpec[] = [
  { name: 'resources', short: 'r', kind: 'string', help: 'a JSON file of linux.resources ("-" for stdin)' },
  ...UPDATE_FLAGS.map(([name, section, field]): FlagSpec => ({ name, kind: 'string', help: `linux.resources.${section}.${field}` })),
  { name: 'l3-cache-schema', kind: 'string', help: 'Intel RDT: not supported' },
  { name: 'mem-bw-schema', kind: 'string', help: 'Intel RDT: not supported' },
];

/** The --resources file (or stdin), named in its errors. */
function readResources(file: string): Record<string, Record<string, unknown>> {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new OcirunError(`--resources ${file}: open: ${errnoText(err as NodeJS.ErrnoException)}`);
  }
  try {
    const r = JSON.parse(text);
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new Error('not an object');
    return r;
  } catch (err) {
    throw new OcirunError(`--resources ${file}: not a JSON object of linux.resources: ${(err as Error).message}`);
  }
}

function updateResources(f: FlagValues): Resources {
  const file = str(f.resources);
  const r = file ? readResources(file) : {};
  if (f['l3-cache-schema'] || f['mem-bw-schema']) throw new OcirunError('Intel RDT is not supported');
  for (const [flag, section, field, kind] of UPDATE_FLAGS) {
    const v = str(f[flag]);
    if (v === undefined) continue;
    let value: number | string = v;
    if (kind === 'bytes') value = parseBytes(flag, v);
    if (kind === 'int') {
      if (!/^-?\d+$/.test(v)) throw new OcirunError(`invalid value for --${flag}: ${v}`);
      value = Number(v);
    }
    (r[section] ??= {})[field] = value;
  }
  return r as Resources;
}

export const CGROUP_COMMANDS: Command[] = [
  idCommand('pause', 'freeze every process of the container', async (id, g) => (await import('../lifecycle/pause')).pause(id, { root: g.root })),
  idCommand('resume', 'thaw a paused container', async (id, g) => (await import('../lifecycle/resume')).resume(id, { root: g.root })),
  {
    name: 'ps',
    usage: '[command options] <container-id> [ps options]',
    summary: 'list the processes of a container',
    flags: [formatFlag],
    keepArgOrder: true, // `ps ID -f` is ps(1)'s -f
    args: [1, Infinity],
    async run(f, [id, ...psArgs], g) {
      const format = str(f.format) ?? 'table';
      if (format !== 'table' && format !== 'json') throw new OcirunError(`invalid format option: ${format}`);
      const { ps, psTable } = await import('../lifecycle/ps');
      const pids = await ps(id, { root: g.root });
      print(format === 'json' ? JSON.stringify(pids) + '\n' : psTable(pids, psArgs));
      return 0;
    },
  },
  {
    name: 'update',
    usage: '[command options] <container-id>',
    summary: "change a running container's resource limits",
    flags: updateFlagSpecs,
    args: [1, 1],
    run: async (f, [id], g) => (await (await import('../lifecycle/update')).update(id, updateResources(f), { root: g.root }), 0),
  },
  {
    name: 'events',
    usage: '[command options] <container-id>',
    summary: 'print resource usage and OOM events (JSON lines)',
    flags: [
      { name: 'stats', kind: 'bool', help: 'print one stats event and exit' },
      { name: 'interval', kind: 'string', help: 'how often to print stats (default 5s)' },
    ],
    args: [1, 1],
    async run(f, [id], g) {
      const events = await import('../lifecycle/events');
      if (f.stats) print((await events.stats(id, { root: g.root })) + '\n');
      else await events.watch(id, parseDuration(str(f.interval) ?? '5s'), (l) => print(l + '\n'), { root: g.root });
      return 0;
    },
  },
];
