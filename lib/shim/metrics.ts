// The task service's Stats: a container's cgroup usage (lib/cgroups/stats.ts, in runc's event shape) as
// containerd's metrics messages, io.containerd.cgroups.v1.Metrics or .v2.Metrics in an Any (what
// `ctr task metrics` and CRI's ContainerStats decode). 64-bit counters go to protobufjs as decimal strings.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CgroupRecord } from '../cgroups/manager';
import { cgroupStats } from '../cgroups/stats';
import { oomKills } from '../cgroups/oom';
import { any, type Message } from './proto';

type Counters = Record<string, bigint | undefined>;
interface Entry { limit?: bigint; usage?: bigint; max?: bigint; failcnt?: bigint }
interface Device { major: bigint; minor: bigint; op: string; value: bigint }
interface RuncStats {
  cpu?: { usage?: Counters; throttling?: Counters };
  memory?: { cache?: bigint; usage?: Entry; swap?: Entry; raw?: Counters };
  pids?: Counters;
  blkio?: { ioServiceBytesRecursive?: Device[]; ioServicedRecursive?: Device[] };
}

const MAX = 18446744073709551615n;
const s = (n: bigint | undefined) => String(n ?? 0n);
const entry = (e: Entry | undefined) => ({ limit: s(e?.limit), usage: s(e?.usage), max: s(e?.max), failcnt: s(e?.failcnt) });
/** memory.stat's v1 names -> containerd's field names (the pgpg* and pg*fault ones differ). */
const v1Name = (k: string) => k.replace(/pgpgin$/, 'pg_pg_in').replace(/pgpgout$/, 'pg_pg_out').replace(/pgmajfault$/, 'pg_maj_fault')
  .replace(/pgfault$/, 'pg_fault').replace(/hierarchical_memsw_limit$/, 'hierarchical_swap_limit');

function v1Metrics(rec: CgroupRecord, st: RuncStats): Message {
  const raw = Object.fromEntries(Object.entries(st.memory?.raw ?? {}).map(([k, v]) => [v1Name(k), s(v)]));
  const blk = (list: Device[] | undefined) => (list ?? []).map((d) => ({ op: d.op, major: s(d.major), minor: s(d.minor), value: s(d.value) }));
  return {
    pids: { current: s(st.pids?.current), limit: s(st.pids?.limit) },
    cpu: {
      usage: { total: s(st.cpu?.usage?.total), kernel: s(st.cpu?.usage?.kernel), user: s(st.cpu?.usage?.user) },
      throttling: { periods: s(st.cpu?.throttling?.periods), throttled_periods: s(st.cpu?.throttling?.throttledPeriods), throttled_time: s(st.cpu?.throttling?.throttledTime) },
    },
    memory: { ...raw, cache: s(st.memory?.cache), usage: entry(st.memory?.usage), swap: entry(st.memory?.swap) },
    blkio: { io_service_bytes_recursive: blk(st.blkio?.ioServiceBytesRecursive), io_serviced_recursive: blk(st.blkio?.ioServicedRecursive) },
    memory_oom_control: { oom_kill: s(oomKills(rec)) },
  };
}

function memoryEvents(dir: string): Message {
  const out: Record<string, string> = {};
  try {
    for (const line of fs.readFileSync(path.join(dir, 'memory.events'), 'utf8').split('\n')) {
      const [k, v] = line.split(' ');
      if (k && /^\d+$/.test(v ?? '')) out[k] = v;
    }
  } catch {
    /* no memory controller */
  }
  return out;
}

function v2Metrics(rec: CgroupRecord, st: RuncStats): Message {
  const usec = (ns: bigint | undefined) => s((ns ?? 0n) / 1000n);
  const usage = st.memory?.usage;
  const swap = st.memory?.swap; // runc's view: memory+swap
  const io = new Map<string, Record<string, string>>();
  const add = (list: Device[] | undefined, read: string, write: string) => {
    for (const d of list ?? []) {
      const key = `${d.major}:${d.minor}`;
      const e = io.get(key) ?? { major: s(d.major), minor: s(d.minor) };
      e[d.op === 'Read' ? read : write] = s(d.value);
      io.set(key, e);
    }
  };
  add(st.blkio?.ioServiceBytesRecursive, 'rbytes', 'wbytes');
  add(st.blkio?.ioServicedRecursive, 'rios', 'wios');
  return {
    pids: { current: s(st.pids?.current), limit: s(st.pids?.limit) },
    cpu: {
      usage_usec: usec(st.cpu?.usage?.total), user_usec: usec(st.cpu?.usage?.user), system_usec: usec(st.cpu?.usage?.kernel),
      nr_periods: s(st.cpu?.throttling?.periods), nr_throttled: s(st.cpu?.throttling?.throttledPeriods), throttled_usec: usec(st.cpu?.throttling?.throttledTime),
    },
    memory: {
      ...Object.fromEntries(Object.entries(st.memory?.raw ?? {}).map(([k, v]) => [k, s(v)])),
      usage: s(usage?.usage), usage_limit: s(usage?.limit), max_usage: s(usage?.max),
      swap_usage: s((swap?.usage ?? 0n) - (usage?.usage ?? 0n)),
      swap_limit: s(swap?.limit === MAX || usage?.limit === MAX ? MAX : (swap?.limit ?? 0n) - (usage?.limit ?? 0n)),
    },
    io: { usage: [...io.values()] },
    memory_events: memoryEvents(rec.unified!),
  };
}

/** The Any a StatsResponse carries for a container whose cgroups are `rec`. */
export function metrics(rec: CgroupRecord): Message {
  const st = cgroupStats(rec) as RuncStats;
  return rec.mode === 'unified' ? any('io.containerd.cgroups.v2.Metrics', v2Metrics(rec, st)) : any('io.containerd.cgroups.v1.Metrics', v1Metrics(rec, st));
}
