// Where the systemd cgroup driver puts a container: cgroupsPath "slice:prefix:name" names the transient scope
// unit `<prefix>-<name>.scope` in the slice `<slice>` (system.slice when empty, user.slice for a rootless
// caller's own manager); no cgroupsPath is ":runc:<id>", as with runc. Slice names nest by their dashes, as systemd expands them. Pure.
import { ConfigError } from '../../errors';

export interface SystemdUnit {
  /** The slice the scope goes in: "system.slice". */
  slice: string;
  /** The scope: "runc-<id>.scope". */
  unit: string;
  /** Its cgroup, below the manager's: "/system.slice/runc-<id>.scope". */
  path: string;
}

const FIELD = '/linux/cgroupsPath';

/**
 * The cgroup v1 hierarchies in which systemd makes a delegated unit's cgroup itself (and puts its PIDs); the
 * runtime makes the scope's directory in the others (cpuset, freezer, net_cls, ...) and joins them.
 */
export const SYSTEMD_V1_HIERARCHIES = new Set(['name=systemd', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'pids']);
export const SYSTEM_SLICE = 'system.slice';
export const USER_SLICE = 'user.slice';
const DEFAULT_PREFIX = 'runc';
/** What systemd accepts in a unit name (besides "@", which only templates use). */
const UNIT_CHARS = /^[A-Za-z0-9:_.\\-]+$/;
const UNIT_NAME_MAX = 255;

/** "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" is the root. */
export function expandSlice(slice: string): string {
  if (!slice.endsWith('.slice') || slice.length <= '.slice'.length)
    throw new ConfigError(FIELD, `"${slice}" is not a slice name (it must end in ".slice")`);
  if (slice.includes('/')) throw new ConfigError(FIELD, `slice "${slice}" must not contain "/" (nesting is written with "-")`);
  if (!UNIT_CHARS.test(slice)) throw new ConfigError(FIELD, `slice "${slice}" has characters systemd refuses in a unit name`);
  const name = slice.slice(0, -'.slice'.length);
  if (name === '-') return '/';
  let out = '';
  let prefix = '';
  for (const part of name.split('-')) {
    if (!part) throw new ConfigError(FIELD, `slice "${slice}" has an empty component (a leading, trailing or doubled "-")`);
    out += `/${prefix}${part}.slice`;
    prefix += `${part}-`;
  }
  return out;
}

export function systemdUnit(cgroupsPath: string | undefined, id: string, defaultSlice = SYSTEM_SLICE): SystemdUnit {
  const parts = cgroupsPath ? cgroupsPath.split(':') : ['', DEFAULT_PREFIX, id];
  if (parts.length !== 3)
    throw new ConfigError(FIELD, `expected "slice:prefix:name" for the systemd cgroup driver, got "${cgroupsPath}"`);
  const [sliceText, prefix, name] = parts;
  const slice = sliceText || defaultSlice;
  const expanded = expandSlice(slice);
  if (!name) throw new ConfigError(FIELD, `"${cgroupsPath}" has no name (slice:prefix:name)`);
  if (name.endsWith('.slice'))
    throw new ConfigError(FIELD, `"${name}": a slice as the container's own unit is not supported; name a scope`);
  const unit = prefix ? `${prefix}-${name}.scope` : `${name}.scope`;
  if (!UNIT_CHARS.test(unit))
    throw new ConfigError(FIELD, `unit name "${unit}" has characters systemd refuses (letters, digits, ":", "_", ".", "-", "\\" only)`);
  if (unit.length > UNIT_NAME_MAX) throw new ConfigError(FIELD, `unit name "${unit}" is longer than ${UNIT_NAME_MAX} characters`);
  return { slice, unit, path: `${expanded === '/' ? '' : expanded}/${unit}` };
}
