// The systemd driver's plan of a container's cgroup (pure but for /proc/devices): the scope's name and its
// directory in every hierarchy (systemd makes it in those it manages, the runtime in the others: v1's cpuset,
// freezer, ...), the same cgroup file writes as cgroupfs, and the unit properties.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../errors';
import { deviceProgram, devicePolicy, v1DeviceWrites } from '../devices';
import type { Hierarchies } from '../hierarchy';
import type { CgroupPlan, CgroupRecord } from '../manager';
import { v1Writes, v2Writes } from '../resources';
import type { DeviceRule, Resources } from '../types';
import { annotationProperties, deviceProperties, resourceProperties, type Property } from './properties';
import { systemdUnit, USER_SLICE } from './unit';

/** A rootless caller's own systemd (systemd --user): its bus and its cgroup, under which its slices live. */
export interface UserManager {
  bus: string;
  cgroup: string;
}

let devicesByMajor: Map<string, string> | undefined;
/** /proc/devices: a major's name ("136" -> "pts"), for systemd's "char-pts" device rules. */
function majorName(type: 'c' | 'b', major: number): string | undefined {
  if (!devicesByMajor) {
    devicesByMajor = new Map();
    let kind = '';
    for (const line of fs.readFileSync('/proc/devices', 'utf8').split('\n')) {
      if (line.startsWith('Character')) kind = 'c';
      else if (line.startsWith('Block')) kind = 'b';
      const m = /^\s*(\d+)\s+(\S+)$/.exec(line);
      if (m) devicesByMajor.set(`${kind}${m[1]}`, m[2]);
    }
  }
  return devicesByMajor.get(`${type}${major}`);
}

export function planScope(
  h: Hierarchies,
  r: Resources,
  rules: DeviceRule[],
  cgroupsPath: string | undefined,
  id: string,
  annotations: Record<string, string> | undefined,
  user?: UserManager,
): CgroupPlan {
  if (user && h.mode !== 'unified')
    throw new ConfigError('/linux/cgroupsPath', 'rootless with --systemd-cgroup needs cgroup v2 (a user\'s systemd is given no v1 controllers)');
  const unit = systemdUnit(cgroupsPath, id, user ? USER_SLICE : undefined);
  const record: CgroupRecord = {
    mode: h.mode,
    v1: {},
    created: [],
    systemd: { unit: unit.unit, slice: unit.slice, ...(user ? { bus: user.bus } : {}) },
  };
  if (h.unified) record.unified = path.join(h.unified, user?.cgroup ?? '/', unit.path);
  if (h.mode !== 'unified') for (const [c, mount] of h.v1) record.v1[c] = path.join(mount, unit.path);
  const policy = devicePolicy(rules);
  const writes = h.mode === 'unified' ? v2Writes(r) : [...v1Writes(r), ...(h.v1.has('devices') ? v1DeviceWrites(policy) : [])];
  for (const w of writes)
    if (w.controller && !h.v1.has(w.controller))
      throw new ConfigError(w.field, `the ${w.controller} cgroup controller is not mounted on this host`);
  const properties: Property[] = [
    ['Description', { sig: 's', value: `ocirun container ${id}` }],
    ...resourceProperties(writes, h.mode !== 'unified'),
    ...deviceProperties(policy, majorName),
    ...annotationProperties(annotations),
  ];
  return { record, writes, deviceProgram: h.mode === 'unified' ? deviceProgram(policy) : undefined, properties };
}
