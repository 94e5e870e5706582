// Reading a bundle: config.json parsed and checked against spec/config.schema.json before any kernel work.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, OcirunError } from '../errors';
import type { Spec } from './spec';
import { part } from '../parts';

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}
type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

/** Built by scripts/build-validator.js from spec/config.schema.json: no ajv compile at run time. */
const compiled = () => part<Validator>('validate-config');

/** One readable sentence for an ajv error: `/process/args: must contain at least 1 item`. */
function describe(e: AjvError): ConfigError {
  const p = e.params;
  switch (e.keyword) {
    case 'required':
      return new ConfigError(`${e.instancePath}/${p.missingProperty}`, 'is required');
    case 'minItems':
      return new ConfigError(e.instancePath, `must contain at least ${p.limit} item${p.limit === 1 ? '' : 's'}`);
    case 'enum':
      return new ConfigError(e.instancePath, `must be one of ${(p.allowedValues as string[]).join(', ')}`);
    case 'pattern':
      if (e.instancePath === '/ociVersion') return new ConfigError(e.instancePath, 'must be a 1.x semantic version');
      return new ConfigError(e.instancePath, `must match ${p.pattern}`);
    default:
      return new ConfigError(e.instancePath || '/', e.message ?? 'is invalid');
  }
}

/**
 * Validates a parsed config.json; throws ConfigError naming the offending field: of the schema's errors, the
 * one deepest in the document (an item of a list rather than the list), then the strings no kernel interface
 * can carry.
 */
export function validateSpec(data: unknown): Spec {
  const validate = compiled();
  if (!validate(data)) {
    const depth = (e: AjvError) => e.instancePath.split('/').length;
    throw describe(validate.errors!.reduce((a, b) => (depth(b) > depth(a) ? b : a)));
  }
  checkStrings(data);
  return data as Spec;
}

/**
 * Every string of the config reaches the kernel as a C string somewhere (a path, an argument, a variable, a
 * label): one with a NUL byte would be cut short there, silently. Refused, naming it. The walk builds no
 * pointer: only a refusal needs one, and it is made from the keys on the way back up.
 */
function checkStrings(data: unknown): void {
  const at = nulAt(data);
  if (at) throw new ConfigError(at.length ? `/${at.reverse().map((k) => k.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}` : '/', 'must not contain a NUL byte');
}

/** The keys, innermost first, down to a string (or key) holding a NUL byte; undefined when there is none. */
function nulAt(v: unknown): string[] | undefined {
  if (typeof v === 'string') return v.includes('\0') ? [] : undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const at = nulAt(v[i]);
      if (at) return [...at, String(i)];
    }
  } else if (v && typeof v === 'object') {
    for (const k in v) {
      if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
      if (k.includes('\0')) return [k];
      const at = nulAt((v as Record<string, unknown>)[k]);
      if (at) return [...at, k];
    }
  }
  return undefined;
}

export interface Bundle {
  dir: string;
  spec: Spec;
  rootfs: string;
}

/** Loads and validates `<bundle>/config.json` and resolves the rootfs. */
export function loadBundle(bundle: string): Bundle {
  const dir = path.resolve(bundle);
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !fs.existsSync(dir)) throw new OcirunError(`bundle ${dir}: no such directory`);
    if (code === 'ENOENT') throw new OcirunError(`${file}: config.json not found in the bundle`);
    throw new OcirunError(`${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new OcirunError(`${file}: invalid JSON: ${(err as Error).message}`);
  }
  const spec = validateSpec(data);
  const rootfs = path.resolve(dir, spec.root.path);
  let st: fs.Stats;
  try {
    st = fs.statSync(rootfs);
  } catch {
    throw new ConfigError('/root/path', `rootfs ${rootfs} does not exist`);
  }
  if (!st.isDirectory()) throw new ConfigError('/root/path', `rootfs ${rootfs} is not a directory`);
  return { dir, spec, rootfs: fs.realpathSync(rootfs) };
}
