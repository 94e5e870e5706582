// The prepared start: a V8 code cache of each bundle, the CLI (build/Release/ocirun.cache, and ocirun-light.cache
// for the commands that make no container, lib/cli/global-flags.ts) and the containerd shim (shim.cache), made
// after their code paths ran once (lib/cli/warm-up.ts, lib/shim/warm-up.ts), and the node binary the launcher
// is to run (build/Release/node-path). Run at install and by every build, after the addon and the bundle; without a
// bundle yet (npm ci runs the install step before `prepare` in a fresh checkout) it does nothing, and the
// build that makes the bundle runs it again. V8 rejects a cache made by another Node (dist/cli/start.js then
// compiles from source), so nothing here can make ocirun fail, only slower.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const start = path.join(root, 'dist', 'cli', 'start.js');
const release = path.join(root, 'build', 'Release');

if (process.argv[2] === '--warm') {
  // The child: compile the bundle (ocirun, or shim) exactly as start.js does, run the warm-up inside it, then
  // save the cache.
  const [name, kind] = process.argv.slice(3); // kind: the CLI's light cache (lib/cli/global-flags.ts)
  const { compileBundle, runBundle, cacheFileOf } = require(start);
  const script = compileBundle(undefined, name);
  const cacheFile = cacheFileOf(kind === 'light' ? `${name}-light` : name);
  const save = (file, data) => {
    fs.writeFileSync(`${file}.tmp`, data);
    fs.renameSync(`${file}.tmp`, file);
  };
  globalThis.__ocirunWarmUp = (warm) =>
    warm(kind).then(() => {
      save(cacheFile, script.createCachedData());
      // The parts the warm-up loaded (lib/parts.ts), each with its own cache.
      for (const part of globalThis.__ocirunParts?.values() ?? []) save(part.cacheFile, part.script.createCachedData());
      process.exit(0);
    });
  runBundle(script, name);
  return;
}

function done(msg) {
  if (msg) process.stderr.write(`prepare-start: ${msg}; ocirun will compile its code at every start\n`);
  process.exit(0);
}
if (!fs.existsSync(path.join(root, 'dist', 'ocirun.js')) || !fs.existsSync(start)) done();
if (!fs.existsSync(release)) done('no build/Release (the addon is not built)');

// The node that runs npm's scripts is the one ocirun is built for: the launcher runs that one, whatever PATH.
const node = fs.realpathSync(process.execPath);
fs.writeFileSync(path.join(release, 'node-path.tmp'), node + '\n');
fs.renameSync(path.join(release, 'node-path.tmp'), path.join(release, 'node-path'));

// In an installed package (not a git checkout), bin/ocirun and bin/containerd-shim-ocirun-v2 become the
// launcher itself (it knows the shim by its name): the shell script that finds it costs a millisecond per
// command, and npm's bin links point at these files.
if (!fs.existsSync(path.join(root, '.git')) && fs.existsSync(path.join(release, 'ocirun-launch'))) {
  for (const name of ['ocirun', 'containerd-shim-ocirun-v2']) {
    const bin = path.join(root, 'bin', name);
    fs.copyFileSync(path.join(release, 'ocirun-launch'), `${bin}.tmp`);
    fs.chmodSync(`${bin}.tmp`, 0o755);
    fs.renameSync(`${bin}.tmp`, bin);
  }
}

// Node's own variables must not shape the cache (NODE_OPTIONS flags would make V8 reject it at run time,
// where the launcher drops them).
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(NODE_|UV_)|^OPENSSL_CONF$/.test(k)));
// A cache is only ever the one made from the source beside it (V8's own check of the source is its length):
// those of the parts (lib/parts.ts) go first too, and the warm-ups make them again.
for (const part of fs.existsSync(path.join(root, 'dist', 'parts')) ? fs.readdirSync(path.join(root, 'dist', 'parts')) : [])
  fs.rmSync(path.join(release, part.replace(/\.js$/, '.cache')), { force: true });
for (const [name, kind] of [['ocirun'], ['ocirun', 'light'], ['shim']]) {
  if (!fs.existsSync(path.join(root, 'dist', `${name}.js`))) continue;
  fs.rmSync(path.join(release, `${name}${kind ? `-${kind}` : ''}.cache`), { force: true });
  const r = spawnSync(node, [__filename, '--warm', name, ...(kind ? [kind] : [])], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) done(`the warm-up of ${name}${kind ? ` (${kind})` : ''} failed (${r.status ?? r.signal}): ${(r.stderr || '').trim().split('\n').slice(-3).join(' / ')}`);
}
