// Cgroups for an unprivileged caller (rootless): a container gets its cgroups only where the caller may make
// them (a cgroup2 subtree delegated to it, such as its systemd user slice). Elsewhere it runs without, in the
// cgroups of whoever started it, as with runc; a resource limit it asks for is then an error naming the
// field, never dropped in silence.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../errors';
import type { CgroupPlan } from './manager';
import type { Resources } from './types';

/** The first resource the config sets (device rules aside: without a cgroup, the user namespace decides). */
function requested(r: Resources | undefined): string | undefined {
  return Object.entries(r ?? {}).find(([k, v]) => k !== 'devices' && v !== undefined && !(typeof v === 'object' && !Array.isArray(v) && !Object.keys(v as object).length))?.[0];
}

/** Whether the caller may make `dir` (or use it, if it exists): the nearest existing directory is writable. */
function makeable(dir: string): boolean {
  let d = dir;
  while (!fs.existsSync(d)) d = path.dirname(d);
  try {
    fs.accessSync(d, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The device rules are not enforced by a cgroup: an unprivileged process may load no device program (BPF) nor
 * write devices.allow, and the user namespace already keeps the container from making or opening a device its
 * user could not (runc does the same).
 */
function withoutDeviceRules(plan: CgroupPlan): CgroupPlan {
  return {
    ...plan,
    deviceProgram: undefined,
    writes: plan.writes.filter((w) => w.controller !== 'devices'),
    properties: plan.properties?.filter(([name]) => name !== 'DevicePolicy' && name !== 'DeviceAllow'),
  };
}

export function rootlessCgroups(plan: CgroupPlan, resources: Resources | undefined): CgroupPlan | undefined {
  const dirs = [plan.record.unified, ...Object.values(plan.record.v1)].filter((d): d is string => !!d);
  const blocked = plan.record.systemd ? undefined : dirs.find((d) => !makeable(d));
  if (!blocked) return withoutDeviceRules(plan);
  const field = requested(resources);
  if (field)
    throw new ConfigError(`/linux/resources/${field}`, `cannot be applied rootless: ${blocked} is not delegated to uid ${process.geteuid?.()} (no write access)`);
  return undefined;
}
