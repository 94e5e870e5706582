// OCI hooks. Those of the runtime's namespaces run here: prestart and createRuntime (create), poststart
// (start), poststop (delete). The two of the container's namespaces run in native code at the spec's moments:
// createContainer in the cloned child before pivot_root (createContainerPlan), startContainer in the init stub
// just before the process (writeStartHooks). Each gets the container state on stdin, its own args and env,
// and is killed after `timeout` seconds.
import { ConfigError, OcirunError } from './errors';
import type { Hook, Spec } from './config/spec';
import { Ctl, type ControlMessage } from './config/control';

export const HOOK_KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
export type HookKind = (typeof HOOK_KINDS)[number];

/** The state a hook run by native code reads: "__PID__" is replaced with the pid there. */
const stateTemplate = (state: object, status: string) =>
  JSON.stringify({ ...state, pid: '__PID__', status }).replace('"__PID__"', '__PID__');

export function createContainerPlan(spec: Spec, state: object) {
  const hooks = spec.hooks?.createContainer ?? [];
  return {
    createContainerHooks: hooks.map((h) => ({ path: h.path, args: h.args?.length ? h.args : [h.path], env: h.env ?? [], timeout: h.timeout ?? 0 })),
    hookStateTemplate: hooks.length ? stateTemplate(state, 'creating') : '',
  };
}

/**
 * The startContainer hooks, for the stub's control message: each hook (timeout, path, args, env) and the state
 * they read, in which the stub writes its own pid over __PID__.
 */
export function writeStartHooks(spec: Spec, state: object, m: ControlMessage): void {
  const hooks = spec.hooks?.startContainer ?? [];
  if (!hooks.length) return;
  if (hooks.length > 16) throw new ConfigError('/hooks/startContainer', 'at most 16 hooks');
  hooks.forEach((h, i) => {
    const where = `/hooks/startContainer/${i}`;
    if ((h.args?.length ?? 0) > 63 || (h.env?.length ?? 0) > 63) throw new ConfigError(where, 'at most 63 args and 63 env entries');
    const timeout = Buffer.alloc(4);
    timeout.writeUInt32LE(h.timeout ?? 0);
    m.str(Ctl.Hook, h.path, `${where}/path`, timeout);
    (h.args?.length ? h.args : [h.path]).forEach((a, j) => m.str(Ctl.HookArg, a, `${where}/args/${j}`));
    (h.env ?? []).forEach((v, j) => m.str(Ctl.HookEnv, v, `${where}/env/${j}`));
  });
  m.str(Ctl.HookState, stateTemplate(state, 'created'), '/annotations');
}

const ERRNO_TEXT: Record<string, string> = { ENOENT: 'no such file or directory', EACCES: 'permission denied', ENOEXEC: 'exec format error' };

/** One hook; its failure in runc's words: "error running <kind> hook #<n>: exit status 3, stdout: ..., stderr: ...". */
function runHook(kind: string, index: number, hook: Hook, state: string): Promise<void> {
  const [argv0, ...args] = hook.args?.length ? hook.args : [hook.path];
  const env = Object.fromEntries((hook.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const failed = (why: string) => new OcirunError(`error running ${kind} hook #${index}: ${why}`);
  // Loaded here: child_process brings net and streams, which no command without hooks needs.
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(hook.path, args, { argv0, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => {}); // a hook may exit without reading its stdin
    child.stdin.end(state);
    const timer = hook.timeout ? setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), hook.timeout * 1000) : undefined;
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(failed(`fork/exec ${hook.path}: ${ERRNO_TEXT[err.code ?? ''] ?? err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const output = `, stdout: ${stdout.trim()}, stderr: ${stderr.trim()}`;
      if (timedOut) reject(failed(`hook ran past specified timeout of ${hook.timeout!.toFixed(1)}s`));
      else if (code !== 0) reject(failed(`${signal ? `signal: ${signal}` : `exit status ${code}`}${output}`));
      else resolve();
    });
  });
}

/** Runs the hooks of one kind in order; the first failure stops them and is thrown. */
export async function runHooks(spec: Spec, kind: HookKind, state: object): Promise<void> {
  const hooks = spec.hooks?.[kind] ?? [];
  const json = JSON.stringify(state);
  for (let i = 0; i < hooks.length; i++) await runHook(kind, i, hooks[i], json);
}

/** poststop: a failure is a warning, and the rest still run. */
export async function runHooksWarning(spec: Spec, kind: HookKind, state: object, warn?: (msg: string) => void): Promise<void> {
  const hooks = spec.hooks?.[kind] ?? [];
  const json = JSON.stringify(state);
  for (let i = 0; i < hooks.length; i++) await runHook(kind, i, hooks[i], json).catch((err: Error) => warn?.(err.message));
}
