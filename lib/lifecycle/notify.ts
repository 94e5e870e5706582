import * as fs from 'node:fs';
import { sendFd } from '../native';
import { SystemError } from '../errors';
import type { Spec } from '../config/spec';
import { SPEC_VERSION } from '../version';
import type { ContainerState } from './state';

/**
 * The seccomp listener gets the notify fd with runc's ContainerProcessState: the fd's name, the process, the
 * listenerMetadata and the container state. The fd is ours to close afterwards.
 */
export function handOverNotifyFd(spec: Spec, state: ContainerState, fd: number): void {
  const seccomp = spec.linux!.seccomp!;
  const payload = { ociVersion: SPEC_VERSION, fds: ['seccompFd'], pid: state.pid, metadata: seccomp.listenerMetadata ?? '', state };
  try {
    sendFd(seccomp.listenerPath!, JSON.stringify(payload), fd);
  } catch (err) {
    // runc's words, which callers match.
    const e = err as SystemError;
    throw new SystemError(`failed to connect with seccomp agent specified in the seccomp profile: ${e.message}`, { ...e, step: 'seccomp-notify' });
  } finally {
    fs.closeSync(fd);
  }
}
