// linux.resources -> the cgroup file writes that apply them, for cgroup v2 and for v1 controllers. Pure: no
// file is touched here, so every conversion and refusal happens before a cgroup exists. Conversions follow
// runc's (cpu shares -> weight, memory+swap -> swap, blkio weight -> io.weight).
import { ConfigError } from '../errors';
import type { CgroupWrite, Resources, ThrottleDevice } from './types';

const R = '/linux/resources';

/** -1 is "max", as runc writes it; undefined writes nothing. */
const num = (n: number) => (n === -1 ? 'max' : String(n));

/**
 * cpu.shares [2, 262144] onto cpu.weight [1, 10000] as runc (>= 1.3.2) and crun (>= 1.23) map it: a curve
 * through the minimum, the default (1024 -> 100) and the maximum, so that the default shares give the
 * default weight (the old linear map gave 39).
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/** runc's map of blkio.weight [10, 1000] onto io.weight [1, 10000]. */
export function blkioWeightToIoWeight(w: number): number {
  return w === 0 ? 0 : 1 + Math.floor(((w - 10) * 9999) / 990);
}

/**
 * v1 memory.memsw (memory+swap) -> v2 memory.swap.max (swap alone), as runc converts it: -1 is unlimited,
 * 0 unset; otherwise it needs a memory limit no larger than itself.
 */
export function swapToV2(swap: number, limit: number | undefined): number {
  const memory = limit ?? 0;
  if (memory === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (memory === 0 || memory === -1) throw new ConfigError(`${R}/memory/swap`, 'unable to set swap limit without memory limit');
  if (memory < 0) throw new ConfigError(`${R}/memory/limit`, `invalid memory value: ${memory}`);
  if (swap < memory) throw new ConfigError(`${R}/memory/swap`, 'memory+swap limit should be >= memory limit');
  return swap - memory;
}

function throttles(b: NonNullable<Resources['blockIO']>, v2: boolean): CgroupWrite[] {
  const kinds: [keyof typeof b, string, string][] = [
    ['throttleReadBpsDevice', 'rbps', 'blkio.throttle.read_bps_device'],
    ['throttleWriteBpsDevice', 'wbps', 'blkio.throttle.write_bps_device'],
    ['throttleReadIOPSDevice', 'riops', 'blkio.throttle.read_iops_device'],
    ['throttleWriteIOPSDevice', 'wiops', 'blkio.throttle.write_iops_device'],
  ];
  const out: CgroupWrite[] = [];
  for (const [key, v2key, v1file] of kinds)
    ((b[key] ?? []) as ThrottleDevice[]).forEach((d, i) => {
      const field = `${R}/blockIO/${key}/${i}`;
      if (v2) out.push({ controller: '', file: 'io.max', value: `${d.major}:${d.minor} ${v2key}=${d.rate === 0 ? 'max' : d.rate}`, field });
      else out.push({ controller: 'blkio', file: v1file, value: `${d.major}:${d.minor} ${d.rate}`, field });
    });
  return out;
}

function rdma(r: Resources, controller: string): CgroupWrite[] {
  return Object.entries(r.rdma ?? {}).map(([dev, l]) => ({
    controller,
    file: 'rdma.max',
    value: `${dev} hca_handle=${l.hcaHandles ?? 'max'} hca_object=${l.hcaObjects ?? 'max'}`,
    field: `${R}/rdma/${dev}`,
  }));
}

/** The writes for cgroup v2. (A hugepage size's spec form, "2MB", is the kernel's file-name form.) */
export function v2Writes(r: Resources): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const put = (file: string, value: string | number, field: string) => w.push({ controller: '', file, value: String(value), field });
  const m = r.memory;
  if (m) {
    if (m.swap !== undefined || m.limit === -1) {
      const swap = swapToV2(m.swap ?? 0, m.limit);
      // memory and memory+swap set to the same value: no swap at all.
      const value = swap === 0 && (m.swap ?? 0) > 0 ? '0' : swap === 0 ? '' : num(swap);
      if (value) w.push({ controller: '', file: 'memory.swap.max', value, field: `${R}/memory/swap`, optional: value === 'max' });
    }
    if (m.limit !== undefined && m.limit !== 0) put('memory.max', num(m.limit), `${R}/memory/limit`);
    if (m.reservation !== undefined && m.reservation !== 0) put('memory.low', num(m.reservation), `${R}/memory/reservation`);
  }
  const c = r.cpu;
  if (c) {
    if (c.realtimeRuntime || c.realtimePeriod)
      throw new ConfigError(`${R}/cpu/realtimeRuntime`, 'realtime scheduling limits are a cgroup v1 feature (cgroup v2 has none)');
    if (c.shares) put('cpu.weight', sharesToWeight(c.shares), `${R}/cpu/shares`);
    if (c.idle !== undefined) put('cpu.idle', c.idle, `${R}/cpu/idle`);
    if (c.quota || c.period) {
      let max = c.quota !== undefined && c.quota > 0 ? String(c.quota) : 'max';
      if (c.period) max += ` ${c.period}`;
      put('cpu.max', max, `${R}/cpu/quota`);
    }
    if (c.burst !== undefined) put('cpu.max.burst', c.burst, `${R}/cpu/burst`);
    if (c.cpus) put('cpuset.cpus', c.cpus, `${R}/cpu/cpus`);
    if (c.mems) put('cpuset.mems', c.mems, `${R}/cpu/mems`);
  }
  // 0 is a limit of zero (runc >= 1.4); a negative one is none.
  if (r.pids?.limit !== undefined) put('pids.max', r.pids.limit >= 0 ? r.pids.limit : 'max', `${R}/pids/limit`);
  const b = r.blockIO;
  if (b) {
    // BFQ takes blkio's scale as it is; the io controller's own weight needs converting.
    const weight = (value: string, converted: string, field: string) =>
      w.push({ controller: '', file: 'io.bfq.weight', value, field, fallback: { file: 'io.weight', value: converted } });
    if (b.weight) weight(String(b.weight), String(blkioWeightToIoWeight(b.weight)), `${R}/blockIO/weight`);
    (b.weightDevice ?? []).forEach((d, i) => {
      if (d.weight === undefined) return;
      const dev = `${d.major}:${d.minor}`;
      weight(`${dev} ${d.weight}`, `${dev} ${blkioWeightToIoWeight(d.weight)}`, `${R}/blockIO/weightDevice/${i}`);
    });
    w.push(...throttles(b, true));
  }
  (r.hugepageLimits ?? []).forEach((h, i) => put(`hugetlb.${h.pageSize}.max`, h.limit, `${R}/hugepageLimits/${i}`));
  w.push(...rdma(r, ''));
  if (r.network && (r.network.classID !== undefined || r.network.priorities?.length))
    throw new ConfigError(`${R}/network`, 'net_cls and net_prio are cgroup v1 controllers (cgroup v2 has none)');
  for (const [key, value] of Object.entries(r.unified ?? {})) {
    if (!/^[a-z_]+\.[\w.]+$/.test(key) || key.includes('/') || key.startsWith('cgroup.'))
      throw new ConfigError(`${R}/unified/${key}`, 'not a controller interface file name');
    put(key, value, `${R}/unified/${key}`);
  }
  return w;
}

/** The writes for v1 controllers (hybrid and legacy hosts). Devices are added by the device rules. */
export function v1Writes(r: Resources): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const put = (controller: string, file: string, value: string | number, field: string) =>
    w.push({ controller, file, value: String(value), field });
  const m = r.memory;
  if (m) {
    if (m.limit !== undefined && m.limit !== 0) put('memory', 'memory.limit_in_bytes', m.limit, `${R}/memory/limit`);
    if (m.swap !== undefined && m.swap !== 0) {
      if (m.swap !== -1 && m.limit !== undefined && m.limit !== -1 && m.swap < m.limit)
        throw new ConfigError(`${R}/memory/swap`, 'memory+swap limit should be >= memory limit');
      put('memory', 'memory.memsw.limit_in_bytes', m.swap, `${R}/memory/swap`);
    } else if (m.limit === -1) {
      // Unlimited memory and no swap given: memory+swap unlimited too, where the kernel accounts swap (runc).
      w.push({ controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: '-1', field: `${R}/memory/swap`, optional: true });
    }
    if (m.reservation !== undefined && m.reservation !== 0)
      put('memory', 'memory.soft_limit_in_bytes', m.reservation, `${R}/memory/reservation`);
    if (m.swappiness !== undefined) {
      if (m.swappiness > 100) throw new ConfigError(`${R}/memory/swappiness`, `invalid value ${m.swappiness}: must be 0..100`);
      put('memory', 'memory.swappiness', m.swappiness, `${R}/memory/swappiness`);
    }
    if (m.disableOOMKiller) put('memory', 'memory.oom_control', 1, `${R}/memory/disableOOMKiller`);
  }
  const c = r.cpu;
  if (c) {
    if (c.shares) put('cpu', 'cpu.shares', c.shares, `${R}/cpu/shares`);
    if (c.period) put('cpu', 'cpu.cfs_period_us', c.period, `${R}/cpu/period`);
    if (c.quota) put('cpu', 'cpu.cfs_quota_us', c.quota, `${R}/cpu/quota`);
    if (c.burst !== undefined) put('cpu', 'cpu.cfs_burst_us', c.burst, `${R}/cpu/burst`);
    if (c.realtimePeriod) put('cpu', 'cpu.rt_period_us', c.realtimePeriod, `${R}/cpu/realtimePeriod`);
    if (c.realtimeRuntime) put('cpu', 'cpu.rt_runtime_us', c.realtimeRuntime, `${R}/cpu/realtimeRuntime`);
    if (c.idle !== undefined) put('cpu', 'cpu.idle', c.idle, `${R}/cpu/idle`);
    if (c.cpus) put('cpuset', 'cpuset.cpus', c.cpus, `${R}/cpu/cpus`);
    if (c.mems) put('cpuset', 'cpuset.mems', c.mems, `${R}/cpu/mems`);
  }
  if (r.pids?.limit !== undefined) put('pids', 'pids.max', r.pids.limit >= 0 ? r.pids.limit : 'max', `${R}/pids/limit`);
  const b = r.blockIO;
  if (b) {
    // BFQ's weight where the kernel has it (the same scale), else the legacy one.
    if (b.weight)
      w.push({ controller: 'blkio', file: 'blkio.bfq.weight', value: String(b.weight), field: `${R}/blockIO/weight`, fallback: { file: 'blkio.weight', value: String(b.weight) } });
    if (b.leafWeight) put('blkio', 'blkio.leaf_weight', b.leafWeight, `${R}/blockIO/leafWeight`);
    (b.weightDevice ?? []).forEach((d, i) => {
      if (d.weight !== undefined) {
        const value = `${d.major}:${d.minor} ${d.weight}`;
        w.push({ controller: 'blkio', file: 'blkio.bfq.weight_device', value, field: `${R}/blockIO/weightDevice/${i}`, fallback: { file: 'blkio.weight_device', value } });
      }
      if (d.leafWeight !== undefined)
        put('blkio', 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, `${R}/blockIO/weightDevice/${i}`);
    });
    w.push(...throttles(b, false));
  }
  (r.hugepageLimits ?? []).forEach((h, i) =>
    put('hugetlb', `hugetlb.${h.pageSize}.limit_in_bytes`, h.limit, `${R}/hugepageLimits/${i}`),
  );
  if (r.network?.classID !== undefined) put('net_cls', 'net_cls.classid', r.network.classID, `${R}/network/classID`);
  (r.network?.priorities ?? []).forEach((p, i) =>
    put('net_prio', 'net_prio.ifpriomap', `${p.name} ${p.priority}`, `${R}/network/priorities/${i}`),
  );
  w.push(...rdma(r, 'rdma'));
  if (r.unified && Object.keys(r.unified).length)
    throw new ConfigError(`${R}/unified`, 'invalid configuration: cannot use unified on cgroup v1 (this host applies resources through cgroup v1)');
  return w;
}
