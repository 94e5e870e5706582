// The prepared start: a V8 start-up snapshot of the CLI bundle (dist/ocirun.js), made by the node binary that
// will run it, and a stamp that the launcher (native/src/launcher/main.cc) checks before using it: the node
// binary's identity and the package directory. Run at install and by every build, after the addon (the
// launcher lives beside it in build/Release) and after the bundle. Without a bundle yet (npm ci runs the
// install step before `prepare` in a fresh checkout), or if the snapshot cannot be made or does not run,
// it leaves no snapshot and ocirun starts from the plain bundle: slower, never broken.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = fs.realpathSync(path.join(__dirname, '..'));
const bundle = path.join(root, 'dist', 'ocirun.js');
const release = path.join(root, 'build', 'Release');
const blob = path.join(release, 'ocirun.blob');
const stamp = `${blob}.stamp`;
const node = fs.realpathSync(process.execPath);

// Node's own variables must not shape the snapshot either (the launcher drops them at run time).
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(NODE_|UV_)|^OPENSSL_CONF$/.test(k)));

function done(msg) {
  if (msg) process.stderr.write(`prepare-start: ${msg}; ocirun will start from the plain bundle\n`);
  process.exit(0);
}

fs.rmSync(stamp, { force: true });
if (!fs.existsSync(bundle)) done(); // the build that makes the bundle runs this again
if (!fs.existsSync(release)) done('no build/Release (the addon is not built)');

const tmp = `${blob}.tmp`;
const built = spawnSync(node, ['--snapshot-blob', tmp, '--build-snapshot', bundle], { cwd: root, env, encoding: 'utf8' });
if (built.status !== 0) {
  fs.rmSync(tmp, { force: true });
  done(`node --build-snapshot failed: ${(built.stderr || '').trim().split('\n').slice(-3).join(' / ')}`);
}
const check = spawnSync(node, ['--snapshot-blob', tmp, '--', '--version'], { env, encoding: 'utf8' });
if (check.status !== 0 || !check.stdout.startsWith('ocirun version ')) {
  fs.rmSync(tmp, { force: true });
  done(`the snapshot does not run (${check.status ?? check.signal}: ${(check.stderr || '').trim().split('\n')[0]})`);
}
fs.renameSync(tmp, blob);

const st = fs.statSync(node, { bigint: true });
const lines = [
  `node ${node}`,
  `node-id ${st.dev} ${st.ino} ${st.size} ${st.mtimeNs / 1000000000n} ${st.mtimeNs % 1000000000n}`,
  `blob-size ${fs.statSync(blob).size}`,
  `package ${root}`,
];
fs.writeFileSync(`${stamp}.tmp`, lines.join('\n') + '\n');
fs.renameSync(`${stamp}.tmp`, stamp);
