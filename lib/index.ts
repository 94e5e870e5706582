// ocirun as a library: the lifecycle of OCI containers, in-process. The CLI (lib/cli) is a thin layer over this.
export { create, type CreateOptions } from './lifecycle/create';
export { start } from './lifecycle/start';
export { state, type ContainerState } from './lifecycle/state';
export { kill, type KillOptions } from './lifecycle/kill';
export { destroy, destroy as delete, type DeleteOptions } from './lifecycle/delete';
export { list } from './lifecycle/list';
export { run, type RunOptions } from './lifecycle/run';
export { exec, type ExecOptions } from './lifecycle/exec';
export { features } from './features';
export type { CommonOptions } from './lifecycle/options';
export { validateSpec, loadBundle } from './config/load';
export { defaultSpec } from './config/default-spec';
export type { Spec } from './config/spec';
export { OcirunError, ConfigError, SystemError } from './errors';
export type { Status } from './state/status';
