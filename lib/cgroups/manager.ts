// A container's cgroups: made before its process exists (so it is placed in them at birth), written from
// linux.resources, listed, killed and removed by delete (freezing is in freezer.ts). Only directories this runtime made are
// ever removed; a cgroupsPath that already existed is joined and left in place.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, SystemError, systemErrorFrom } from '../errors';
import { attachDeviceFilter, lock, tryLock } from '../native';
import { cgroupDir, hierarchies, ownCgroups, type CgroupMode } from './hierarchy';
import { DEFAULT_ALLOWED, deviceProgram, devicePolicy, v1DeviceWrites } from './devices';
import { v1Writes, v2Writes } from './resources';
import { isFrozen, thawTree } from './freezer';
import { signalListed } from '../signals';
import { waitUntil } from '../wait';
import type { CgroupWrite, DeviceRule, Resources } from './types';
import { SYSTEMD_V1_HIERARCHIES } from './systemd/unit';
import { stillAt } from '../state/store';
import type { Property } from './systemd/properties';

/** Kept in the container's state record. */
export interface CgroupRecord {
  mode: CgroupMode;
  /** The container's cgroup2 directory (every mode but legacy). */
  unified?: string;
  /** v1 controller (or named hierarchy, name=systemd) -> the container's directory in its hierarchy. */
  v1: Record<string, string>;
  /** Directories this runtime created, parents first (with systemd, only in the v1 hierarchies it leaves alone). */
  created: string[];
  /** The systemd driver's scope: `started` once StartTransientUnit made it (then it is this container's). */
  systemd?: { unit: string; slice: string; started?: boolean; bus?: string };
}

export interface CgroupPlan {
  record: CgroupRecord;
  writes: CgroupWrite[];
  /** cgroup v2 only: the BPF program for the device rules. */
  deviceProgram?: Buffer;
  /** systemd: the scope's unit properties (resources, devices, annotations); PIDs and the rest come at start. */
  properties?: Property[];
  /** Directories the record's are made under that exist (a hierarchy's root, our own cgroup): see dirsToMake. */
  existing?: string[];
}

export interface CgroupOptions {
  /** --systemd-cgroup: cgroupsPath is "slice:prefix:name", and the cgroup a transient scope. */
  systemd?: boolean;
  /** The config's annotations: `org.systemd.property.<Name>` ones become unit properties. */
  annotations?: Record<string, string>;
  /** systemd: a rootless caller's own manager instead of the system's. */
  userManager?: import('./systemd/plan').UserManager;
}

/** Everything about the cgroups that can be decided without touching them; throws on a bad config. */
export function planCgroups(resources: Resources | undefined, cgroupsPath: string | undefined, id: string, opts: CgroupOptions = {}): CgroupPlan {
  const h = hierarchies();
  const r = resources ?? {};
  const record: CgroupRecord = { mode: h.mode, v1: {}, created: [] };
  // runc's rule, in its words: a device rule says which access it is about (the spec gives no default).
  (r.devices ?? []).forEach((d, i) => {
    if (!d.access) throw new ConfigError(`/linux/resources/devices/${i}/access`, `device access at ${i} field cannot be empty`);
  });
  const rules = [...(r.devices ?? []), ...DEFAULT_ALLOWED];
  if (opts.systemd) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const scope = require('./systemd/plan') as typeof import('./systemd/plan'); // loaded only for this driver
    return scope.planScope(h, r, rules, cgroupsPath, id, opts.annotations, opts.userManager);
  }
  const own = ownCgroups();
  const existing: string[] = [];
  const place = (controller: string) => {
    const { dir, base } = cgroupDir(h, own, controller, cgroupsPath, id);
    existing.push(base);
    return dir;
  };
  if (h.unified) record.unified = place('');
  if (h.mode !== 'unified') for (const c of h.v1.keys()) record.v1[c] = place(c);
  if (h.mode === 'unified') {
    return { record, writes: v2Writes(r), deviceProgram: programFor(r.devices, rules), existing };
  }
  const writes = v1Writes(r);
  if (h.v1.has('devices')) writes.push(...v1DeviceWrites(devicePolicy(rules)));
  for (const w of writes)
    if (!h.v1.has(w.controller))
      throw new ConfigError(w.field, `the ${w.controller} cgroup controller is not mounted on this host`);
  return { record, writes, existing };
}

/**
 * The BPF program of the last device rules asked for, made again only when the config's rules differ (a
 * daemon's containers mostly share theirs; folding and assembling them was ~2% of a container in the guest).
 * Never changed after it is made: plans share it.
 */
let lastProgram: { key: string; program: Buffer } | undefined;
function programFor(configRules: DeviceRule[] | undefined, rules: DeviceRule[]): Buffer {
  const key = JSON.stringify(configRules ?? []);
  if (lastProgram?.key !== key) lastProgram = { key, program: deviceProgram(devicePolicy(rules)) };
  return lastProgram.program;
}

/** A rootless caller's systemd --user, for --systemd-cgroup (loads the D-Bus client, as the driver does). */
export function userManager(): Promise<import('./systemd/plan').UserManager> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (require('./systemd/bus') as typeof import('./systemd/bus')).userManager();
}

const systemError = (err: unknown, syscall: string, file: string, what: string) =>
  systemErrorFrom(err, what, syscall, file, 'cgroups');

/**
 * mkdir -p, recording in `created` what this create makes, parents first. A directory that was missing when the
 * create was planned (`planned`) and that a concurrent create of the same cgroupsPath made first counts as ours
 * too: only one of the two claims the cgroup (claimCgroup), and the loser leaves it to the winner's record. A
 * new cpuset directory gets its parent's cpus and mems (v1). mkdir comes first: in the usual case (the parent
 * is there) it is the only call.
 */
export function makeDirs(dir: string, created: string[], cpuset: boolean, planned: Set<string>, parentMade = false): void {
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOENT once more after the parent was made: a parent being removed meanwhile, an error (no loop).
    if (code === 'ENOENT' && !parentMade && path.dirname(dir) !== dir) {
      makeDirs(path.dirname(dir), created, cpuset, planned);
      return makeDirs(dir, created, cpuset, planned, true);
    }
    if (code !== 'EEXIST') throw systemError(err, 'mkdir', dir, 'cgroup');
    if (!planned.has(dir)) return; // someone else's, and so are the directories above it
    adoptPlanned(dir, created, planned);
    if (!created.includes(dir)) created.push(dir);
    return;
  }
  adoptPlanned(dir, created, planned);
  created.push(dir);
  // A new v1 cpuset starts empty (or, under cgroup.clone_children, with these same values): no process can
  // join it before it has cpus and mems.
  if (cpuset)
    for (const f of ['cpuset.cpus', 'cpuset.mems']) fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(path.dirname(dir), f)));
}

/** The planned directories above `dir` that a concurrent create made first: ours too, before `dir` in the list. */
function adoptPlanned(dir: string, created: string[], planned: Set<string>): void {
  for (const p of planned) if (dir.startsWith(`${p}/`) && !created.includes(p)) created.push(p);
}

/** cgroup v2: controllers must be enabled in every ancestor's subtree_control to appear in the container's. */
function enableControllers(mount: string, dir: string): void {
  for (let d = mount; d !== dir; d = path.join(d, path.relative(d, dir).split('/')[0])) {
    const available = fs.readFileSync(path.join(d, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
    const enabled = new Set(fs.readFileSync(path.join(d, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/));
    for (const c of available)
      if (!enabled.has(c))
        try {
          fs.writeFileSync(path.join(d, 'cgroup.subtree_control'), `+${c}`);
        } catch {
          /* a controller that cannot be enabled here: a write that needs it fails with its own error */
        }
  }
}

function dirOf(rec: CgroupRecord, controller: string): string {
  return controller === '' ? rec.unified! : rec.v1[controller];
}

/**
 * Writes resource values, each in a write of its own (a v1 devices file takes one rule per write), through one
 * open of a file for a run of writes to it; a failure names the config field, the file and the errno.
 */
export function applyWrites(rec: CgroupRecord, list: CgroupWrite[]): void {
  const writes = [...list];
  let open: { file: string; fd: number } | undefined;
  const close = () => {
    if (open) fs.closeSync(open.fd);
    open = undefined;
  };
  try {
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i];
      let file = path.join(dirOf(rec, w.controller), w.file);
      let value = w.value;
      if (open?.file !== file) {
        close();
        let fd = openForWrite(file, w.field);
        if (fd === undefined) {
          if (w.optional) continue;
          if (w.fallback) {
            file = path.join(dirOf(rec, w.controller), w.fallback.file);
            value = w.fallback.value;
            fd = openForWrite(file, w.field);
          }
          // cgroupfs refuses to create files (EACCES): say what is missing instead.
          if (fd === undefined) throw new ConfigError(w.field, `${file} does not exist: the kernel does not offer it (controller not available?)`);
        }
        open = { file, fd };
      }
      try {
        fs.writeSync(open.fd, value);
      } catch (err) {
        // v1: lowering memory below memory+swap, or raising it above, depends on the order: try swap first. The
        // same for a cpu period whose old quota would exceed a parent's limit (a pod's) over it: quota first,
        // as runc retries.
        const next = writes[i + 1];
        if ((w.file === 'memory.limit_in_bytes' && next?.file === 'memory.memsw.limit_in_bytes') ||
            (w.file === 'cpu.cfs_period_us' && next?.file === 'cpu.cfs_quota_us')) {
          writes[i] = next;
          writes[i + 1] = w;
          i--;
          continue;
        }
        throw systemError(err, 'write', file, w.field);
      }
    }
  } finally {
    close();
  }
}

/** An existing cgroup file opened for writing; undefined when the kernel does not offer it. */
function openForWrite(file: string, field: string): number | undefined {
  try {
    return fs.openSync(file, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw systemError(err, 'open', file, field);
  }
}

/**
 * A cgroup that already has processes belongs to something else (another container with the same
 * cgroupsPath, or the same id under another --root): joining it would let one container's delete kill the
 * other. Refused, as runc does.
 */
function checkUnused(rec: CgroupRecord, toMake?: Set<string>, only?: (dir: string) => boolean): void {
  for (const dir of new Set([rec.unified, ...Object.values(rec.v1)])) {
    if (!dir || toMake?.has(dir) || (only && !only(dir)) || !populated(dir)) continue; // one about to be made has nobody in it
    const procs = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    throw new ConfigError('/linux/cgroupsPath', `container's cgroup is not empty: ${dir} has ${procs.length} process(es)`);
  }
  // A process born into a frozen cgroup never runs: create would wait for it for ever.
  const freezer = rec.mode === 'unified' ? rec.unified : rec.v1.freezer;
  if (freezer && !toMake?.has(freezer) && isFrozen(rec)) throw new ConfigError('/linux/cgroupsPath', "container's cgroup is frozen");
}

const probe = Buffer.alloc(1);
/** Whether a cgroup has a process: one byte of its cgroup.procs (false when it is not there). */
function populated(dir: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(path.join(dir, 'cgroup.procs'), fs.constants.O_RDONLY);
  } catch {
    return false;
  }
  try {
    return fs.readSync(fd, probe, 0, 1, null) > 0;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The directories createCgroups is about to make, parents first: recorded before they exist, so that a
 * create killed halfway leaves a record from which `delete --force` removes them. The walk up stops at
 * `existing` (CgroupPlan.existing) without looking: in the usual case one access(2) per hierarchy. (Were one
 * gone after all, mkdir -p would make it, list it in `created`, and create would record that again.)
 */
export function dirsToMake(rec: CgroupRecord, existing: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const dir of new Set([rec.unified, ...Object.values(rec.v1)])) {
    const missing: string[] = [];
    for (let d = dir; d && d !== '/' && !existing.includes(d) && !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
    out.push(...missing.filter((d) => !out.includes(d)));
  }
  return out;
}

/** Makes the container's cgroups and applies its resources. On failure nothing it made is left. */
export async function createCgroups(plan: CgroupPlan): Promise<void> {
  const rec = plan.record;
  const planned = new Set(rec.created);
  checkUnused(rec, planned);
  rec.created = [];
  try {
    if (rec.unified) {
      const mount = hierarchies().unified!;
      makeDirs(rec.unified, rec.created, false, planned);
      if (rec.mode === 'unified') enableControllers(mount, rec.unified);
    }
    for (const [c, dir] of Object.entries(rec.v1)) makeDirs(dir, rec.created, c === 'cpuset', planned);
    applyWrites(rec, plan.writes);
    if (plan.deviceProgram) attachDeviceFilter(rec.unified!, plan.deviceProgram, true);
  } catch (err) {
    await removeCgroups(rec);
    throw err;
  }
}

/** Every pid in the container's cgroup tree (its own cgroup and any it made below). */
export function cgroupPids(rec: CgroupRecord): number[] {
  const dir = rec.unified && rec.mode !== 'legacy' ? rec.unified : rec.v1.pids ?? rec.v1.freezer ?? Object.values(rec.v1)[0];
  const pids = new Set<number>();
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      // 0 stands for a process of another pid namespace: never a pid to signal.
      for (const p of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (Number(p) > 0) pids.add(Number(p));
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  if (dir) walk(dir);
  return [...pids];
}

/**
 * Whether no process is left in the container's cgroup tree. Under cgroup2 its cgroup.events answers for the
 * whole subtree in one read (the kernel's populated count: a zombie is not counted, as cgroup.procs does not
 * list one); under v1 only the walk of cgroupPids can.
 */
export function cgroupEmpty(rec: CgroupRecord): boolean {
  if (rec.unified && rec.mode !== 'legacy') {
    let events: string;
    try {
      events = fs.readFileSync(path.join(rec.unified, 'cgroup.events'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true; // no cgroup, nobody in it
      return cgroupPids(rec).length === 0;
    }
    return /^populated 0$/m.test(events);
  }
  return cgroupPids(rec).length === 0;
}

/**
 * SIGKILL to every process of the container (cgroup.kill where the kernel has it, else pid by pid through
 * pidfds), then waits until the cgroup is empty: v2 says so in cgroup.events. A frozen task dies only once
 * thawed.
 */
export async function killAll(rec: CgroupRecord, timeoutMs = 10_000): Promise<void> {
  const killFile = rec.mode === 'unified' ? path.join(rec.unified!, 'cgroup.kill') : '';
  const kill = () => {
    if (killFile && fs.existsSync(killFile)) fs.writeFileSync(killFile, '1');
    else signalListed(() => cgroupPids(rec), 9);
  };
  if (cgroupEmpty(rec)) return;
  kill();
  await thawTree(rec).catch(() => undefined);
  await waitUntil(() => cgroupPids(rec).length === 0, {
    what: 'the cgroup to be empty after SIGKILL',
    timeoutMs,
    watch: rec.unified && rec.mode !== 'legacy' ? path.join(rec.unified, 'cgroup.events') : undefined,
    retry: kill, // a process forked before the signal reached its parent
  }).catch(() => {
    throw new SystemError(`cgroup still has processes after SIGKILL: ${cgroupPids(rec).join(' ')}`, { step: 'cgroups' });
  });
}

/**
 * Locks the container's cgroup (flock on its directory) until its process is in it, and only then checks
 * that it is empty: two creates that name the same cgroupsPath serialise here, and the second finds the
 * first one's process and is refused. Returns the fd to close once the process has been placed.
 */
export async function claimCgroup(rec: CgroupRecord): Promise<number> {
  const leaf = rec.unified ?? Object.values(rec.v1)[0];
  const fd = fs.openSync(leaf, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    await lock(fd);
    // Of the directories this create made, the locked leaf is enough: a concurrent create's process is in all
    // of its cgroups before that create lets go of this lock. Those that were there before are looked at again.
    const made = new Set(rec.created);
    checkUnused(rec, undefined, (dir) => dir === leaf || !made.has(dir));
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/**
 * Serialises the creates under one state root that name one cgroup, from the moment a create decides which of
 * its directories it is to make (dirsToMake) until its process is in them. Without it, a create that looked
 * after the other had made them, then claimed the cgroup first, would own directories it did not make, and
 * its delete would leave them behind. A lock file in the state root (0600, root's or the user's own), not the
 * cgroup's directory: no other user can open it and stall creates. Removed by its holder; a waiter that then
 * gets the lock of a removed file takes the new one. Returns the release.
 */
export async function lockCgroupPath(root: string, rec: CgroupRecord): Promise<() => void> {
  const file = lockFileOf(root, rec);
  for (;;) {
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    let ours = false;
    try {
      await lock(fd);
      ours = stillAt(fd, file) === true;
    } finally {
      if (!ours) fs.closeSync(fd);
    }
    if (ours)
      return () => {
        try {
          fs.unlinkSync(file); // before the close: a waiter that gets this inode then looks again
        } catch {
          /* removed by hand: nothing to do */
        }
        fs.closeSync(fd);
      };
  }
}

/** delete: the lock file of a create that was killed holding it (one a live create holds stays). */
export function dropCgroupPathLock(root: string, rec: CgroupRecord): void {
  const file = lockFileOf(root, rec);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
  } catch {
    return;
  }
  try {
    if (tryLock(fd) && stillAt(fd, file)) fs.unlinkSync(file);
  } finally {
    fs.closeSync(fd);
  }
}

const lockFileOf = (root: string, rec: CgroupRecord) => path.join(root, `.cgroup-${pathKey(rec.unified ?? Object.values(rec.v1)[0] ?? '')}.lock`);

/** Two FNV-1a hashes of a path: a name for its lock file (a collision only serialises two creates more). */
function pathKey(p: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < p.length; i++) {
    a = Math.imul(a ^ p.charCodeAt(i), 0x01000193);
    b = Math.imul(b ^ p.charCodeAt(i), 0x811c9dc5);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

async function rmdirTree(dir: string, leavePopulated: boolean): Promise<void> {
  // Most often the cgroup is empty and has nothing below it: one rmdir. Otherwise (EBUSY: a child cgroup, a
  // process, or the last tasks still leaving after SIGKILL) the walk below.
  try {
    fs.rmdirSync(dir);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
  }
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await rmdirTree(path.join(dir, e.name), leavePopulated);
  if (leavePopulated && populated(dir)) return;
  let failure: unknown;
  const removed = () => {
    try {
      fs.rmdirSync(dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY') failure = err;
      return code !== 'EBUSY'; // EBUSY: the last tasks are still leaving after SIGKILL
    }
  };
  await waitUntil(removed, { what: `${dir} to be removable`, intervalMs: 2 }).catch((err) => (failure ??= err));
  if (failure) throw systemError(failure, 'rmdir', dir, 'delete cgroup');
}

/** Removes the directories this runtime made (and any the container made below them), deepest first. */
export async function removeCgroups(rec: CgroupRecord, opts: { leavePopulated?: boolean } = {}): Promise<void> {
  const made = new Set(rec.created);
  const leaves = [rec.unified, ...Object.values(rec.v1)].filter((d): d is string => !!d && made.has(d));
  // leavePopulated: a create refused because another container's process is in its cgroup leaves that alone.
  for (const d of new Set(leaves)) await rmdirTree(d, !!opts.leavePopulated);
  for (const d of [...rec.created].reverse().filter((d) => !leaves.includes(d)))
    try {
      fs.rmdirSync(d); // a parent we made: only if nothing else lives there now
    } catch {
      /* not empty, or gone */
    }
}

/**
 * Where the native side puts the process: born in the cgroup2 directory; it enters each v1 one itself. A
 * systemd scope not started yet is made around the cloned child (cgroupDeferred), which waits for it.
 */
export function cgroupPlacement(rec: CgroupRecord | undefined): { cgroupPath?: string; cgroupTasks?: string[]; cgroupDeferred?: boolean } {
  if (!rec) return {};
  const deferred = !!rec.systemd && !rec.systemd.started;
  // Before its scope starts, the v1 hierarchies systemd manages have no directory yet: systemd puts the pid there.
  const joined = Object.entries(rec.v1).filter(([c]) => !(deferred && SYSTEMD_V1_HIERARCHIES.has(c)));
  return {
    cgroupPath: rec.unified,
    cgroupTasks: [...new Set(joined.map(([, d]) => d))].map((d) => `${d}/tasks`),
    ...(deferred ? { cgroupDeferred: true } : {}),
  };
}
