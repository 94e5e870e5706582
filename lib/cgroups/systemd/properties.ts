// The unit properties of a container's scope, as runc's systemd driver sets them (docs/systemd.md in runc):
// accounting on, the resources systemd knows translated from the same cgroup v2 writes the cgroupfs driver
// makes (so both drivers give one config one meaning; the files are written afterwards too, for what systemd
// cannot express), the device rules as DevicePolicy/DeviceAllow, then the `org.systemd.property.<Name>`
// annotations, which come last and win. Pure: /proc/devices is read by the caller.
import { ConfigError } from '../../errors';
import type { DevicePolicy } from '../devices';
import type { CgroupWrite } from '../types';
import { isInteger, parseGVariant, type Typed } from './gvariant';

export type Property = [name: string, value: Typed];

const MAX = 2n ** 64n - 1n;
const t = (value: bigint): Typed => ({ sig: 't', value });
const u64 = (v: string): Typed => t(v === 'max' ? MAX : BigInt(v));

/** "0-3,6" -> systemd's CPU/node mask: byte i, bit j is number 8i+j. */
export function maskBytes(list: string, field: string): Typed {
  const bytes: number[] = [];
  for (const part of list.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new ConfigError(field, `"${list}" is not a list of numbers and ranges`);
    const [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (hi < lo || hi > 8191) throw new ConfigError(field, `"${part}" is not a valid range`);
    for (let n = lo; n <= hi; n++) {
      while (bytes.length <= n >> 3) bytes.push(0);
      bytes[n >> 3] |= 1 << (n & 7);
    }
  }
  return { sig: 'ay', value: Buffer.from(bytes) };
}

/** cpu.max "quota period": systemd keeps quota per second, in whole percent (runc rounds up to 10 ms). */
function cpuMax(value: string): Property[] {
  const [quota, periodText] = value.trim().split(/\s+/);
  const period = Number(periodText ?? 100000);
  const out: Property[] = [];
  if (periodText) out.push(['CPUQuotaPeriodUSec', t(BigInt(period))]);
  if (quota === 'max') out.push(['CPUQuotaPerSecUSec', t(MAX)]);
  else {
    const perSec = Math.ceil((Number(quota) * 1_000_000) / period / 10_000) * 10_000;
    out.push(['CPUQuotaPerSecUSec', t(BigInt(perSec))]);
  }
  return out;
}

/** One cgroup v2 write -> the unit properties that say the same, if systemd has them. */
function fromWrite(w: CgroupWrite): Property[] {
  const v = w.value.trim();
  switch (w.file) {
    case 'memory.max': return [['MemoryMax', u64(v)]];
    case 'memory.low': return [['MemoryLow', u64(v)]];
    case 'memory.min': return [['MemoryMin', u64(v)]];
    case 'memory.high': return [['MemoryHigh', u64(v)]];
    case 'memory.swap.max': return [['MemorySwapMax', u64(v)]];
    case 'cpu.weight': return [['CPUWeight', u64(v)]];
    case 'cpu.max': return cpuMax(v);
    case 'cpuset.cpus': return [['AllowedCPUs', maskBytes(v, w.field)]];
    case 'cpuset.mems': return [['AllowedMemoryNodes', maskBytes(v, w.field)]];
    // 0 stays a file write only, as with runc: systemd's TasksMax has no "no tasks".
    case 'pids.max': return v === '0' ? [] : [['TasksMax', u64(v)]];
    case 'io.bfq.weight': // blockIO.weight: io.weight's scale is in the fallback
      return /^\d+$/.test(v) && w.fallback ? [['IOWeight', u64(w.fallback.value)]] : [];
    case 'io.weight': {
      const m = /^(?:default\s+)?(\d+)$/.exec(v);
      return m ? [['IOWeight', u64(m[1])]] : [];
    }
    default: return [];
  }
}

/**
 * The device rules as systemd says them: "strict" with the allowed nodes ("/dev/char/1:3", "char-pts" for a
 * whole major, "char-*"), or "auto" with none when the default is to allow (systemd has no deny list; the
 * runtime's own program still enforces the denials). `majorName` reads /proc/devices.
 */
export function deviceProperties(p: DevicePolicy, majorName: (type: 'c' | 'b', major: number) => string | undefined): Property[] {
  const list = (allow: [string, string][]): Typed => ({ sig: 'a(ss)', value: allow });
  if (p.defaultAllow) return [['DevicePolicy', { sig: 's', value: 'auto' }], ['DeviceAllow', list([])]];
  const allow: [string, string][] = [];
  for (const ex of p.exceptions) {
    const e = { ...ex, access: [...'rwm'].filter((c) => ex.access.includes(c)).join('') };
    const kind = e.type === 'c' ? 'char' : 'block';
    if (e.major < 0) allow.push([`${kind}-*`, e.access]);
    else if (e.minor < 0) {
      const name = majorName(e.type, e.major);
      if (name) allow.push([`${kind}-${name}`, e.access]);
    } else allow.push([`/dev/${kind}/${e.major}:${e.minor}`, e.access]);
  }
  return [['DevicePolicy', { sig: 's', value: 'strict' }], ['DeviceAllow', list(allow)]];
}

/** One cgroup v1 write -> its unit property (runc's v1 table: systemd's older names for the same limits). */
function fromV1Write(w: CgroupWrite, all: CgroupWrite[]): Property[] {
  const v = w.value.trim();
  const n = (text: string) => (text === 'max' || text === '-1' ? MAX : BigInt(text));
  switch (w.file) {
    case 'memory.limit_in_bytes': return [['MemoryLimit', t(n(v))]];
    case 'cpu.shares': return [['CPUShares', t(BigInt(v))]];
    case 'blkio.bfq.weight': return /^\d+$/.test(v) ? [['BlockIOWeight', t(BigInt(v))]] : [];
    case 'cpuset.cpus': return [['AllowedCPUs', maskBytes(v, w.field)]];
    case 'cpuset.mems': return [['AllowedMemoryNodes', maskBytes(v, w.field)]];
    case 'pids.max': return v === '0' ? [] : [['TasksMax', t(n(v))]];
    case 'cpu.cfs_quota_us': {
      const period = all.find((x) => x.file === 'cpu.cfs_period_us')?.value;
      return cpuMax(`${Number(v) > 0 ? v : 'max'}${period ? ` ${period}` : ''}`);
    }
    default: return [];
  }
}

/** The resources: later writes (linux.resources.unified) override earlier ones, as in the files. */
export function resourceProperties(writes: CgroupWrite[], v1 = false): Property[] {
  const byName = new Map<string, Property>();
  for (const w of writes) for (const p of v1 ? fromV1Write(w, writes) : fromWrite(w)) byName.set(p[0], p);
  return [...byName.values()];
}

/** Property types known here, so that an annotation of the wrong type is refused before systemd sees it. */
const KNOWN: Record<string, string> = {
  CPUWeight: 't', StartupCPUWeight: 't', CPUQuotaPerSecUSec: 't', CPUQuotaPeriodUSec: 't', IOWeight: 't',
  StartupIOWeight: 't', MemoryMin: 't', MemoryLow: 't', MemoryHigh: 't', MemoryMax: 't', MemorySwapMax: 't',
  TasksMax: 't', TimeoutStopUSec: 't', RuntimeMaxUSec: 't', CPUAccounting: 'b', MemoryAccounting: 'b',
  IOAccounting: 'b', TasksAccounting: 'b', Delegate: 'b', SendSIGKILL: 'b', SendSIGHUP: 'b', CollectMode: 's',
  KillMode: 's', Description: 's', DevicePolicy: 's', OOMPolicy: 's', ManagedOOMSwap: 's',
  ManagedOOMMemoryPressure: 's', ManagedOOMPreference: 's', KillSignal: 'i', FinalKillSignal: 'i',
};

const SIG_NAMES: Record<string, string> = { t: 'uint64', u: 'uint32', i: 'int32', x: 'int64', b: 'boolean', s: 'string', d: 'double' };
const sigName = (sig: string) => SIG_NAMES[sig] ?? sig;

/**
 * `org.systemd.property.<Name>` annotations -> properties, as runc reads them: the value in GVariant text form;
 * a name ending in "Sec" after a lower-case letter is given in seconds and set as "<...>USec".
 */
export function annotationProperties(annotations: Record<string, string> | undefined): Property[] {
  const PREFIX = 'org.systemd.property.';
  const out: Property[] = [];
  for (const [key, text] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(PREFIX)) continue;
    const field = `/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    let name = key.slice(PREFIX.length);
    if (!/^[A-Z][A-Za-z0-9]+$/.test(name)) throw new ConfigError(field, `"${name}" is not a systemd property name`);
    let value: Typed;
    try {
      value = parseGVariant(text);
    } catch (err) {
      throw new ConfigError(field, `"${text}" is not a GVariant value: ${(err as Error).message}`);
    }
    if (/[a-z]Sec$/.test(name)) {
      const seconds = typeof value.value === 'bigint' ? Number(value.value) : value.value;
      if ((!isInteger(value.sig) && value.sig !== 'd') || typeof seconds !== 'number' || seconds < 0)
        throw new ConfigError(field, `"${text}" is not a number of seconds`);
      name = `${name.slice(0, -3)}USec`;
      value = t(BigInt(Math.round(seconds * 1_000_000)));
    }
    const want = KNOWN[name];
    if (want && want !== value.sig)
      throw new ConfigError(field, `"${text}" is ${sigName(value.sig)}; ${name} takes ${sigName(want)}` +
        (want === 't' ? ` (write "uint64 ${text}")` : ''));
    out.push([name, value]);
  }
  return out;
}
