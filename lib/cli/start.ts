// What the launcher (native/src/launcher) runs: the bundled CLI, dist/ocirun.js, compiled with the V8 code
// cache that scripts/prepare-start.js made at install (build/Release/ocirun.cache), so that a command neither
// parses nor compiles the code it runs. V8 checks the cache against its own version, its flags and the
// source, and compiles from source when they differ (after a Node upgrade): slower, never wrong.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

const bundle = path.join(__dirname, '..', 'ocirun.js');
export const cacheFile = path.join(__dirname, '..', '..', 'build', 'Release', 'ocirun.cache');

/** The bundle as one function of (require, __filename, __dirname): the same text at build and at run time. */
export function compileBundle(cachedData?: Buffer): vm.Script {
  const source = `(function (require, __filename, __dirname) {${fs.readFileSync(bundle, 'utf8')}\n})`;
  return new vm.Script(source, { filename: bundle, cachedData });
}

export function runBundle(script: vm.Script): void {
  (script.runInThisContext() as (r: NodeRequire, f: string, d: string) => void)(require, bundle, path.dirname(bundle));
}

if (require.main === module) {
  let cache: Buffer | undefined;
  try {
    cache = fs.readFileSync(cacheFile);
  } catch {
    /* not prepared: compiled from source */
  }
  const script = compileBundle(cache);
  (globalThis as { __ocirunStart?: string }).__ocirunStart = !cache ? 'no code cache' : script.cachedDataRejected ? 'a rejected code cache' : 'the code cache';
  runBundle(script);
}
