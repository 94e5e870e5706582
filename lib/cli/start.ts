// What the launcher (native/src/launcher) runs: a bundle (dist/ocirun.js for the CLI, dist/shim.js for the
// containerd shim through lib/shim/start.ts), compiled with the V8 code cache that scripts/prepare-start.js
// made at install (build/Release/<name>.cache), so that a command neither parses nor compiles the code it
// runs. V8 checks the cache against its own version, its flags and the source, and compiles from source when
// they differ (after a Node upgrade): slower, never wrong. The CLI has two caches of its one bundle: the
// commands that make no container start from a smaller one (lib/cli/global-flags.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { startCacheName } from './global-flags';

const dist = path.join(__dirname, '..');
export const bundleFile = (name: string) => path.join(dist, `${name}.js`);
export const cacheFileOf = (name: string) => path.join(dist, '..', 'build', 'Release', `${name}.cache`);
/** The CLI's (scripts/prepare-start.js makes it after a warm-up). */
export const cacheFile = cacheFileOf('ocirun');

/**
 * A bundle, written by scripts/bundle.js as one function of (require, __filename, __dirname): compiled as read,
 * the same text at build and at run time.
 */
export function compileBundle(cachedData?: Buffer, name = 'ocirun'): vm.Script {
  const file = bundleFile(name);
  return new vm.Script(fs.readFileSync(file, 'utf8'), { filename: file, cachedData });
}

export function runBundle(script: vm.Script, name = 'ocirun'): void {
  const file = bundleFile(name);
  (script.runInThisContext() as (r: NodeRequire, f: string, d: string) => void)(require, file, path.dirname(file));
}

/**
 * Runs the bundle `name` from its code cache (`cacheName`, by default the bundle's), if there is one; says how
 * it was compiled (ocirun --debug).
 */
export function startBundle(name: string, cacheName = name): void {
  let cache: Buffer | undefined;
  try {
    cache = fs.readFileSync(cacheFileOf(cacheName));
  } catch {
    /* not prepared: compiled from source */
  }
  const script = compileBundle(cache, name);
  (globalThis as { __ocirunStart?: string }).__ocirunStart = !cache ? 'no code cache' : script.cachedDataRejected ? 'a rejected code cache' : 'the code cache';
  runBundle(script, name);
}

// Run as the main script (the launcher's), not when required (scripts/prepare-start.js, the shim's start). By
// file name: scripts/bundle.js bundles this file, and inside a bundle `module` is not the file's own.
if (require.main?.filename === __filename) startBundle('ocirun', startCacheName(process.argv.slice(2)));
