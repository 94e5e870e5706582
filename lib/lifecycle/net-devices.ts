// linux.netDevices: host network devices moved into the container's network namespace at create (renamed
// when `name` says so, their permanent addresses and up state kept: native/src/netdev.h), before the
// runtime-namespace hooks run. A network namespace of the container's own dies with its last process: the
// kernel then returns physical devices to the host and destroys virtual ones (veth, tap). One joined by path
// outlives the container, so delete moves the devices back, under their host names.
import * as fs from 'node:fs';
import { SystemError } from '../errors';
import { moveNetDevice } from '../native';
import type { Spec } from '../config/spec';

const devices = (spec: Spec) => Object.entries(spec.linux?.netDevices ?? {});

/** The network namespace the devices went to, if it outlives the container: one joined by path. */
const joinedNetns = (spec: Spec) => spec.linux?.namespaces?.find((n) => n.type === 'network')?.path;

function failed(key: string, err: unknown): SystemError {
  const e = err as SystemError;
  return new SystemError(`/linux/netDevices/${key}: ${e.message}`, { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, step: 'net-devices' });
}

/** Before spawn: each device named must exist in the runtime's network namespace. */
export function checkNetDevices(spec: Spec): void {
  for (const [key] of devices(spec))
    if (!fs.existsSync(`/sys/class/net/${key}`))
      throw new SystemError(`/linux/netDevices/${key}: no such network device in the runtime's network namespace`, { code: 'ENODEV', step: 'net-devices' });
}

/** Into the network namespace of the container's init `pid` (ours, not yet committed). All or none. */
export function moveNetDevicesIn(spec: Spec, pid: number, debug: (msg: string) => void): void {
  const target = `/proc/${pid}/ns/net`;
  const moved: [string, string][] = [];
  for (const [key, dev] of devices(spec)) {
    try {
      moveNetDevice('', key, target, dev.name ?? '');
    } catch (err) {
      // In a new namespace the devices go back (or away) with the init this failure kills; in a joined one
      // they are put back here.
      if (joinedNetns(spec)) for (const [host, inside] of moved) moveBack(target, host, inside, () => {});
      throw failed(key, err);
    }
    moved.push([key, dev.name ?? key]);
    debug(`net-devices: ${key} moved into ${target}${dev.name ? ` as ${dev.name}` : ''}`);
  }
}

function moveBack(from: string, host: string, inside: string, warn: (msg: string) => void): void {
  try {
    moveNetDevice(from, inside, '/proc/thread-self/ns/net', host === inside ? '' : host);
  } catch (err) {
    warn(`moving network device ${inside} back to the runtime's network namespace as ${host}: ${(err as Error).message}`);
  }
}

/** delete: out of a joined network namespace, back under their host names. */
export function moveNetDevicesOut(spec: Spec, warn: (msg: string) => void): void {
  const netns = joinedNetns(spec);
  if (!netns || !fs.existsSync(netns)) return;
  for (const [key, dev] of devices(spec)) moveBack(netns, key, dev.name ?? key, warn);
}
