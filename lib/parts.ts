// The big modules only some commands use (the config validator, the syscall tables of other architectures):
// left out of the bundles (dist/ocirun.js, dist/shim.js), so that `state`, `kill`, `start` and `delete` neither
// read nor deserialise them, and built as parts of their own (dist/parts/NAME.js, scripts/bundle.js), each
// compiled with a V8 code cache of its own (build/Release/NAME.cache, made by scripts/prepare-start.js after
// the warm-up used it). From dist/ as a library they are plain modules.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

/** Set to true by scripts/bundle.js in the bundles; undeclared in dist/ as a library. */
declare const __OCIRUN_BUNDLED__: boolean | undefined;

// scripts/bundle.js builds each part from the module named here.
const MODULES = {
  'validate-config': () => require('./config/validate-config.js'),
  'syscalls-other': () => require('./seccomp/syscalls-other.generated.js'),
};
export type PartName = keyof typeof MODULES;

interface Loaded {
  script: vm.Script;
  cacheFile: string;
}
/** What scripts/prepare-start.js makes the code caches from, after the warm-up. */
const loaded: Map<string, Loaded> = ((globalThis as { __ocirunParts?: Map<string, Loaded> }).__ocirunParts ??= new Map());
const exportsOf = new Map<string, unknown>();

/**
 * The module's exports, loaded once: in a bundle, its part compiled with its code cache (or from source when V8
 * rejects it); in dist/ as a library, the module (a library's every create used to pay require()'s lookup).
 */
export function part<T>(name: PartName): T {
  let mod = exportsOf.get(name);
  if (mod === undefined) exportsOf.set(name, (mod = typeof __OCIRUN_BUNDLED__ === 'undefined' ? MODULES[name]() : loadPart(name)));
  return mod as T;
}

function loadPart(name: PartName): unknown {
  // In a bundle __dirname is dist/ (dist/cli/start.js runs it so).
  const file = path.join(__dirname, 'parts', `${name}.js`);
  const cacheFile = path.join(__dirname, '..', 'build', 'Release', `${name}.cache`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    /* not prepared: compiled from source */
  }
  // Written as one function of (module, exports, require) (scripts/bundle.js): compiled as read.
  const script = new vm.Script(fs.readFileSync(file, 'utf8'), { filename: file, cachedData });
  const m = { exports: {} as unknown };
  script.runInThisContext()(m, m.exports, require);
  loaded.set(name, { script, cacheFile });
  return m.exports;
}
