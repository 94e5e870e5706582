// The `ocirun` command's entry point, bundled into dist/ocirun.js (scripts/bundle.js). The launcher runs it
// through dist/cli/start.js (`node dist/cli/start.js ARGS`), with the V8 code cache made at install.
// scripts/prepare-start.js runs it once more at build time, to warm the code paths before the cache is made.
import { main, setStartMode } from './main';
import { printErr } from './output';

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
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      printErr(`ocirun: ${err && err.stack ? err.stack : err}\n`);
      process.exit(1);
    },
  );
}
