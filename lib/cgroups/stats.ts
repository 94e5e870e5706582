// Resource usage of a container's cgroups in the shape of runc's stats event (`runc events --stats`).
// Counters are BigInt: memory limits reach 2^64-1, beyond what a JS number holds exactly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CgroupRecord } from './manager';

const MAX = 18446744073709551615n; // "max": runc reports an unlimited value as MaxUint64

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}
const int = (s: string | undefined): bigint => (s === undefined || s === '' ? 0n : s === 'max' ? MAX : BigInt(s.split(/\s/)[0]));
/** "key value" lines (memory.stat, cpu.stat, memory.events) -> map. */
export function keyed(file: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const line of (read(file) ?? '').split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = BigInt(v);
  }
  return out;
}
/** Drops zero and empty fields, as runc's omitempty does. */
function compact<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0n && v !== undefined && !(Array.isArray(v) && !v.length))) as Partial<T>;
}
const entry = (limit: bigint, usage: bigint, max: bigint, failcnt: bigint) => ({ limit, ...compact({ usage, max }), failcnt });
/** "0-3,6" -> [0, 1, 2, 3, 6]. */
const cpuList = (s: string | undefined): bigint[] =>
  (s ?? '').split(',').filter(Boolean).flatMap((r) => {
    const [a, b = a] = r.split('-').map(Number);
    return Array.from({ length: b - a + 1 }, (_, i) => BigInt(a + i));
  });
/** runc's v1 cpuset stats; on v2 it reports the same fields, all zero. */
const cpuset = (read: (name: string) => string | undefined) => ({
  ...compact({ cpus: cpuList(read('cpus')) }),
  cpu_exclusive: int(read('cpu_exclusive')),
  ...compact({ mems: cpuList(read('mems')) }),
  mem_hardwall: int(read('mem_hardwall')),
  mem_exclusive: int(read('mem_exclusive')),
  memory_migrate: int(read('memory_migrate')),
  memory_spread_page: int(read('memory_spread_page')),
  memory_spread_slab: int(read('memory_spread_slab')),
  memory_pressure: int(read('memory_pressure')),
  sched_load_balance: int(read('sched_load_balance')),
  sched_relax_domain_level: int(read('sched_relax_domain_level')),
});
/** A v2 pressure file ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0", "full ...") as runc's psi object. */
function psi(file: string): object | undefined {
  const text = read(file);
  if (text === undefined) return undefined;
  const out: Record<string, object> = {};
  for (const line of text.split('\n')) {
    const [kind, ...kv] = line.split(' ');
    if (kind !== 'some' && kind !== 'full') continue;
    const v = Object.fromEntries(kv.map((p) => p.split('=')));
    out[kind] = { avg10: Number(v.avg10 ?? 0), avg60: Number(v.avg60 ?? 0), avg300: Number(v.avg300 ?? 0), total: int(v.total) };
  }
  return out;
}
// What runc's stats carry beyond the cgroups: no Intel RDT monitoring here, and no network interfaces (runc
// reports those only for interfaces its own libcontainer configuration made).
const EXTRAS = { intel_rdt: {}, network_interfaces: null };

function hugepageSizes(dir: string): string[] {
  try {
    return [...new Set(fs.readdirSync(dir).map((f) => /^hugetlb\.(\w+)\./.exec(f)?.[1]).filter((s): s is string => !!s))];
  } catch {
    return [];
  }
}

function v2Stats(dir: string) {
  const f = (name: string) => path.join(dir, name);
  const cpu = keyed(f('cpu.stat'));
  const mem = keyed(f('memory.stat'));
  const memUsage = int(read(f('memory.current')));
  const memLimit = int(read(f('memory.max')) ?? 'max');
  const swapUsage = int(read(f('memory.swap.current')));
  const swapLimit = int(read(f('memory.swap.max')) ?? 'max');
  const ioServiceBytes: object[] = [];
  const ioServiced: object[] = [];
  for (const line of (read(f('io.stat')) ?? '').split('\n').filter(Boolean)) {
    const [dev, ...kv] = line.split(' ');
    const [major, minor] = dev.split(':').map(BigInt);
    const v = Object.fromEntries(kv.map((p) => p.split('=')).map(([k, n]) => [k, BigInt(n)]));
    ioServiceBytes.push({ major, minor, op: 'Read', value: v.rbytes ?? 0n }, { major, minor, op: 'Write', value: v.wbytes ?? 0n });
    ioServiced.push({ major, minor, op: 'Read', value: v.rios ?? 0n }, { major, minor, op: 'Write', value: v.wios ?? 0n });
  }
  const hugetlb = Object.fromEntries(
    hugepageSizes(dir).map((s) => [s, { ...compact({ usage: int(read(f(`hugetlb.${s}.current`))), max: int(read(f(`hugetlb.${s}.max`))) }), failcnt: keyed(f(`hugetlb.${s}.events`)).max ?? 0n }]),
  );
  const pressure = (name: string) => {
    const p = psi(f(name));
    return p ? { psi: p } : {};
  };
  return {
    cpu: {
      usage: { ...compact({ total: (cpu.usage_usec ?? 0n) * 1000n }), kernel: (cpu.system_usec ?? 0n) * 1000n, user: (cpu.user_usec ?? 0n) * 1000n },
      throttling: compact({ periods: cpu.nr_periods ?? 0n, throttledPeriods: cpu.nr_throttled ?? 0n, throttledTime: (cpu.throttled_usec ?? 0n) * 1000n }),
      ...pressure('cpu.pressure'),
    },
    cpuset: cpuset(() => undefined),
    memory: {
      ...compact({ cache: mem.file ?? 0n }),
      usage: entry(memLimit, memUsage, int(read(f('memory.peak'))), keyed(f('memory.events')).max ?? 0n),
      // runc's v1-compatible view: swap is memory+swap.
      swap: entry(swapLimit === MAX || memLimit === MAX ? MAX : swapLimit + memLimit, swapUsage + memUsage, 0n, 0n),
      kernel: entry(0n, 0n, 0n, 0n), // v1 only, reported empty as runc does
      kernelTCP: entry(0n, 0n, 0n, 0n),
      raw: mem,
      ...pressure('memory.pressure'),
    },
    pids: compact({ current: int(read(f('pids.current'))), limit: read(f('pids.max')) === 'max' ? 0n : int(read(f('pids.max'))) }),
    blkio: { ...compact({ ioServiceBytesRecursive: ioServiceBytes, ioServicedRecursive: ioServiced }), ...pressure('io.pressure') },
    hugetlb,
    ...EXTRAS,
  };
}

function v1Stats(rec: CgroupRecord) {
  const f = (ctrl: string, name: string) => (rec.v1[ctrl] ? path.join(rec.v1[ctrl], name) : '/nonexistent');
  const ticksToNs = 10_000_000n; // USER_HZ 100
  const acct = keyed(f('cpuacct', 'cpuacct.stat'));
  const cpu = keyed(f('cpu', 'cpu.stat'));
  const mem = keyed(f('memory', 'memory.stat'));
  const m = (name: string) => int(read(f('memory', `memory.${name}`)));
  const blk = (file: string) =>
    (read(f('blkio', file)) ?? '')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((p) => p.length === 3)
      .map(([dev, op, value]) => ({ major: BigInt(dev.split(':')[0]), minor: BigInt(dev.split(':')[1]), op, value: BigInt(value) }));
  const hugeDir = rec.v1.hugetlb;
  const hugetlb = Object.fromEntries(
    (hugeDir ? hugepageSizes(hugeDir) : []).map((s) => [s, { ...compact({ usage: int(read(f('hugetlb', `hugetlb.${s}.usage_in_bytes`))), max: int(read(f('hugetlb', `hugetlb.${s}.max_usage_in_bytes`))) }), failcnt: int(read(f('hugetlb', `hugetlb.${s}.failcnt`))) }]),
  );
  // cpuacct.usage_all: "cpu user system", then one line per CPU, in ns.
  const perMode = (read(f('cpuacct', 'cpuacct.usage_all')) ?? '').split('\n').slice(1).map((l) => l.split(' ')).filter((p) => p.length === 3);
  return {
    cpu: {
      usage: {
        ...compact({
          total: int(read(f('cpuacct', 'cpuacct.usage'))),
          percpu: (read(f('cpuacct', 'cpuacct.usage_percpu')) ?? '').split(/\s+/).filter(Boolean).map(BigInt),
          percpu_kernel: perMode.map((p) => BigInt(p[2])),
          percpu_user: perMode.map((p) => BigInt(p[1])),
        }),
        kernel: (acct.system ?? 0n) * ticksToNs,
        user: (acct.user ?? 0n) * ticksToNs,
      },
      throttling: compact({ periods: cpu.nr_periods ?? 0n, throttledPeriods: cpu.nr_throttled ?? 0n, throttledTime: cpu.throttled_time ?? 0n }),
    },
    cpuset: cpuset((name) => read(f('cpuset', `cpuset.${name}`))),
    memory: {
      ...compact({ cache: mem.total_cache ?? mem.cache ?? 0n }),
      usage: entry(m('limit_in_bytes'), m('usage_in_bytes'), m('max_usage_in_bytes'), m('failcnt')),
      swap: entry(m('memsw.limit_in_bytes'), m('memsw.usage_in_bytes'), m('memsw.max_usage_in_bytes'), m('memsw.failcnt')),
      kernel: entry(m('kmem.limit_in_bytes'), m('kmem.usage_in_bytes'), m('kmem.max_usage_in_bytes'), m('kmem.failcnt')),
      kernelTCP: entry(m('kmem.tcp.limit_in_bytes'), m('kmem.tcp.usage_in_bytes'), m('kmem.tcp.max_usage_in_bytes'), m('kmem.tcp.failcnt')),
      raw: mem,
    },
    pids: compact({ current: int(read(f('pids', 'pids.current'))), limit: read(f('pids', 'pids.max')) === 'max' ? 0n : int(read(f('pids', 'pids.max'))) }),
    blkio: compact({
      ioServiceBytesRecursive: blk('blkio.throttle.io_service_bytes_recursive'),
      ioServicedRecursive: blk('blkio.throttle.io_serviced_recursive'),
    }),
    hugetlb,
    ...EXTRAS,
  };
}

export function cgroupStats(rec: CgroupRecord): object {
  return rec.mode === 'unified' ? v2Stats(rec.unified!) : v1Stats(rec);
}

/** JSON with BigInts written as plain numbers. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `\u0000${v}` : v)).replace(/"\\u0000(-?\d+)"/g, '$1');
}
