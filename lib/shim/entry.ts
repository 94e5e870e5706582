// The shim's entry (the bundle dist/shim.js starts here): runs the action and sets the exit status. `serve`
// returns -1 and keeps running on its server.
import { main } from './main';

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`containerd-shim-ocirun-v2: ${err.message}\n`);
    process.exitCode = 1;
  },
);
