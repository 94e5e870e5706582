// Bundles the CLI into one file, dist/ocirun.js (from tsc's output in dist/), so that a command reads one
// script instead of some sixty modules, and scripts/prepare-start.js can make one V8 code cache for all of
// it. Also records the commit the build was made from (dist/build-info.json, read by lib/version.ts).
// Runs at build time only: esbuild is a devDependency; a packed ocirun ships the bundle.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist');

function git(...args) {
  return execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

/** The checkout's commit, when this package is the top of a git checkout (not a package inside another's). */
function commit() {
  try {
    if (fs.realpathSync(git('rev-parse', '--show-toplevel')) !== fs.realpathSync(root)) return undefined;
    const head = git('rev-parse', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') ? `${head}-dirty` : head;
  } catch {
    return undefined;
  }
}

const info = path.join(dist, 'build-info.json');
const c = commit();
if (c) fs.writeFileSync(info, JSON.stringify({ commit: c }) + '\n');
else if (!fs.existsSync(info)) fs.writeFileSync(info, JSON.stringify({ commit: 'unknown' }) + '\n');

// The shim's protobuf code: proto/shim.proto parsed here, once (each `package` line starts a section of its
// own, see the file's head), into a JSON descriptor, and from that protobufjs's static code (its pbjs: an
// encoder, decoder and converters per message, on protobufjs/minimal), so that the shim neither parses the
// .proto nor generates code at run time (protobufjs's reflection compiles each message's functions at its
// first use, with new Function: a code cache cannot hold them, and a shim's first Create paid ~15 ms for it).
const protobuf = require('protobufjs');
const protoRoot = new protobuf.Root();
for (const section of fs.readFileSync(path.join(root, 'proto', 'shim.proto'), 'utf8').split(/^(?=package )/m).slice(1))
  protobuf.parse(`syntax = "proto3";\n${section}`, protoRoot, { keepCase: true });
protoRoot.resolveAll();
fs.writeFileSync(path.join(dist, 'shim-proto.json'), JSON.stringify(protoRoot.toJSON()));
execFileSync(process.execPath, [require.resolve('protobufjs-cli/bin/pbjs'), '-t', 'static-module', '-w', 'commonjs', '--keep-case', '--no-verify',
  '--no-delimited', '--no-comments', '--no-service', '-o', path.join(dist, 'shim-proto.js'), path.join(dist, 'shim-proto.json')], { stdio: 'inherit' });

const esbuild = require('esbuild');
// Each bundle is written as one function expression of what its loader passes (lib/cli/start.ts, lib/parts.ts),
// so that V8 compiles the text exactly as read: a wrapper added at run time made V8 flatten the two into a
// copy of the whole bundle on the JS heap at every start (177 KB for the CLI, 111 KB for the validator), and
// that allocation was what filled a create's young generation and cost it a scavenge (~1-2 ms).
const wrapped = (params) => ({ banner: { js: `(function (${params}) {` }, footer: { js: '\n})' } });
// Whitespace and syntax minified, names kept as written: stack traces (--debug) name the functions. Mangled
// names with esbuild's keepNames cost more: a helper call per function at every start (Object.defineProperty
// of its name, ~55 KB of the young generation of a create, which then needed a scavenge before its spawn).
const minified = { minifyWhitespace: true, minifySyntax: true };
// The parts (lib/parts.ts): big modules only some commands use, left out of the bundles and built apart, each
// to be compiled with a code cache of its own.
const PARTS = { 'validate-config': 'config/validate-config.js', 'syscalls-other': 'seccomp/syscalls-other.generated.js' };
const parted = {
  define: { __OCIRUN_BUNDLED__: 'true' },
  external: Object.values(PARTS).map((file) => `./${file}`), // as lib/parts.ts requires them
};
for (const [name, file] of Object.entries(PARTS))
  esbuild.buildSync({
    entryPoints: [path.join(dist, file)],
    outfile: path.join(dist, 'parts', `${name}.js`),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    ...wrapped('module, exports, require'), // lib/parts.ts runs it so
    minify: true,
    logLevel: 'warning',
  });

// containerd-shim-ocirun-v2, one file as well (the launcher runs it by that name): read once per pod.
esbuild.buildSync({
  entryPoints: [path.join(dist, 'shim', 'entry.js')],
  outfile: path.join(dist, 'shim.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'iife',
  ...wrapped('require, __filename, __dirname'), // dist/shim/start.js runs it as dist/cli/start.js does the CLI's
  ...minified,
  logLevel: 'warning',
  ...parted,
});

esbuild.buildSync({
  entryPoints: [path.join(dist, 'cli', 'entry.js')],
  outfile: path.join(dist, 'ocirun.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'iife',
  ...wrapped('require, __filename, __dirname'), // dist/cli/start.js runs it so
  ...minified,
  logLevel: 'warning',
  ...parted,
});

// dist/cli/start.js, what the launcher runs, as one file too: the module it imports (global-flags, which picks
// the code cache) costs a require of its own otherwise, resolved, read and compiled without a cache: ~0.5 ms
// at every command. It stays a CommonJS module with its exports (scripts/prepare-start.js and the shim's start
// require it).
esbuild.buildSync({
  entryPoints: [path.join(dist, 'cli', 'start.js')],
  outfile: path.join(dist, 'cli', 'start.js'),
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
});
