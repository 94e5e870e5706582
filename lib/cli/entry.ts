// The `ocirun` command's entry point, bundled into dist/ocirun.js (scripts/bundle.js). The launcher runs it
// through dist/cli/start.js (`node dist/cli/start.js ARGS`), with the V8 code cache made at install.
// scripts/prepare-start.js runs it once more at build time, to warm the code paths before the cache is made.
import { main, setStartMode } from './main';
import { printErr, written } from './output';

interface StartHooks {
  /** Set by dist/cli/start.js: how the bundle was compiled. */
  __ocirunStart?: string;
  /** Set by scripts/prepare-start.js: warm the code paths instead of running a command. */
  __ocirunWarmUp?: (warm: (kind?: 'full' | 'light') => Promise<void>) => void;
}
const hooks = globalThis as StartHooks;

if (hooks.__ocirunWarmUp) {
  // Loaded only here: a command evaluates only the modules it uses.
  hooks.__ocirunWarmUp((require('./warm-up') as typeof import('./warm-up')).warmUp);
} else {
  if (hooks.__ocirunStart) setStartMode(hooks.__ocirunStart);
  const stdio = watchStdioStreams();
  main(process.argv.slice(2)).then(
    async (code) => {
      await written(); // what a full non-blocking pipe made wait in a stream: no exit waits for it
      // Node's own exit puts back the flags and terminal modes its stdio streams changed: needed only if
      // the command made one (a terminal proxied, an output that fell back to a stream). Otherwise _exit(2).
      if (!stdio.used) (require('../native') as typeof import('../native')).exitWithoutTeardown(code);
      process.exit(code);
    },
    (err) => {
      printErr(`ocirun: ${err && err.stack ? err.stack : err}\n`);
      process.exit(1);
    },
  );
}

/** Notes whether the command ever asks for process.stdin, stdout or stderr (Node makes them on first use). */
function watchStdioStreams(): { used: boolean } {
  const seen = { used: false };
  for (const name of ['stdin', 'stdout', 'stderr'] as const) {
    const made = Object.getOwnPropertyDescriptor(process, name)?.get;
    if (!made) {
      seen.used = true; // not a getter as in Node 20: assume the worst
      continue;
    }
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: true,
      get() {
        seen.used = true;
        return made.call(process);
      },
    });
  }
  return seen;
}
