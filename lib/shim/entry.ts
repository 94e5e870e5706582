// The shim's entry (the bundle dist/shim.js starts here): runs the action and sets the exit status. `serve`
// returns -1 and keeps running on its server. scripts/prepare-start.js runs it once more at build time, to
// warm the code paths before the code cache is made.
import { main } from './main';

const hooks = globalThis as { __ocirunWarmUp?: (warm: () => Promise<void>) => void };

if (hooks.__ocirunWarmUp) {
  // Loaded only here: an action evaluates only the modules it uses.
  hooks.__ocirunWarmUp((require('./warm-up') as typeof import('./warm-up')).warmUp);
} else {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`containerd-shim-ocirun-v2: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
}
