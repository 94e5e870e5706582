// The `ocirun` command's entry point (bin/ocirun -> the launcher -> node). It is bundled into dist/ocirun.js
// (scripts/bundle.js), and that bundle is run in one of two ways:
//   - plain: `node dist/ocirun.js ARGS...`;
//   - prepared: scripts/prepare-start.js runs it once under `node --build-snapshot`, with every module of the
//     CLI loaded, and the launcher then starts `node --snapshot-blob BLOB -- ARGS...` from that heap: no module
//     is read, compiled or initialised per command.
// Nothing here may read the host while the snapshot is built: what a module computes at load time is frozen
// into the snapshot.
import * as v8 from 'node:v8';
import { main, setStartMode } from './main';

function run(argv: string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`ocirun: ${err && err.stack ? err.stack : err}\n`);
      process.exit(1);
    },
  );
}

/**
 * Calls the built-in functions every command uses, so that their code is compiled into the snapshot: a
 * user-land snapshot does not carry Node's code cache for its own modules, and their first calls would
 * otherwise compile them per command. Reads only files every Linux host has; caches nothing of ocirun's.
 */
function warmBuiltins(): void {
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  path.resolve(path.join('/proc', 'self', '..', 'self'), 'x');
  path.dirname(path.basename('/a/b'));
  fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  fs.existsSync('/proc/self/ns/mnt');
  fs.statSync('/proc/self');
  fs.readdirSync('/proc/self/fd');
  try {
    fs.readFileSync('/proc/self/nonexistent');
  } catch {
    /* the error path is warmed too */
  }
  const fd = fs.openSync('/dev/null', 'w');
  fs.writeSync(fd, JSON.stringify({ warm: true }));
  fs.closeSync(fd);
}

if (v8.startupSnapshot?.isBuildingSnapshot()) {
  // Load every module now, so that the snapshot holds them initialised (the commands import theirs lazily).
  require('../index');
  require('../cli/cgroup-commands');
  require('../lifecycle/update');
  require('../lifecycle/events');
  require('../lifecycle/pause');
  require('../lifecycle/resume');
  require('../lifecycle/ps');
  require('../seccomp/explain');
  // Run the config validator once (it is pure), so that its code is compiled in the snapshot too.
  const { validateSpec, defaultSpec } = require('../index') as typeof import('../index');
  validateSpec(defaultSpec());
  warmBuiltins();
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    setStartMode('snapshot');
    run(process.argv.slice(1)); // [node, ...ARGS]: the launcher's "--" is not kept
  });
} else {
  run(process.argv.slice(2));
}
