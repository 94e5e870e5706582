// Installed as users install it: `npm pack` of the checkout, then `npm install -g` of that tarball into a
// temporary prefix. The install builds the addon, the launcher and the prepared start (the code cache); the
// installed `ocirun` runs a real container. Then what a Node upgrade leaves behind: a code cache of another
// V8 is not used, and a node binary that is gone is found on the PATH; the commands still work.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { fs, os, path, repo, makeBundle, testRoot } from './helpers.mjs';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-install-'));
fs.chmodSync(work, 0o755);
t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
const prefix = path.join(work, 'prefix');
const installed = path.join(prefix, 'lib', 'node_modules', 'ocirun');
const cmd = path.join(prefix, 'bin', 'ocirun');
const run = (args, opts = {}) => spawnSync(cmd, args, { encoding: 'utf8', ...opts });

t.before(() => {
  // --ignore-scripts: pack what the checkout has built, without rebuilding it under the other tests' feet.
  const tgz = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work, repo], { encoding: 'utf8' }).trim().split('\n').pop();
  // npm 11 runs a global package's install script only when allowed to.
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--allow-scripts=ocirun', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, tgz)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
});

t.test('the installed command works and starts from its code cache', async (t) => {
  t.ok(fs.lstatSync(cmd).isSymbolicLink(), 'npm linked bin/ocirun');
  t.equal(fs.readFileSync(fs.realpathSync(cmd)).subarray(0, 4).toString('latin1'), '\x7fELF', 'the link leads to the launcher itself, not a script');
  const v = run(['--version']);
  t.equal(v.status, 0, v.stderr);
  t.match(v.stdout, /^ocirun version \d+\.\d+\.\d+\ncommit: [0-9a-f]{40}(-dirty)?\nspec: 1\.\d+\.\d+\n$/);
  t.ok(fs.statSync(path.join(installed, 'build', 'Release', 'ocirun.cache')).size > 0, 'the code cache was made at install');
  t.equal(fs.readFileSync(path.join(installed, 'build', 'Release', 'node-path'), 'utf8'), `${fs.realpathSync(process.execPath)}\n`);
  t.match(run(['--debug', 'list']).stderr, /started from the code cache/);
  const shim = path.join(prefix, 'bin', 'containerd-shim-ocirun-v2');
  t.equal(fs.readFileSync(fs.realpathSync(shim)).subarray(0, 4).toString('latin1'), '\x7fELF', 'the shim is the launcher too');
  const sv = spawnSync(shim, ['-v'], { encoding: 'utf8' });
  t.equal(sv.status, 0, sv.stderr);
  t.match(sv.stdout, /^containerd-shim-ocirun-v2:\n  Version: \d+\.\d+\.\d+\n/, 'containerd finds a working shim on the PATH');

  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'echo from the installed ocirun; exit 3']));
  const r = run(['--root', root, 'run', '--bundle', bundle, 'inst']);
  t.equal(r.stdout, 'from the installed ocirun\n');
  t.equal(r.status, 3, 'exit status of the container');
  t.same(fs.readdirSync(root), []);
});

t.test('after a Node upgrade: a code cache of another V8 is not used, and a node that is gone is looked up', async (t) => {
  const nodePath = path.join(installed, 'build', 'Release', 'node-path');
  // A cache made by another Node carries another V8 version hash (its second 32-bit word). The CLI has two:
  // the light one (list) and the full one (features).
  for (const name of ['ocirun', 'ocirun-light']) {
    const cache = path.join(installed, 'build', 'Release', `${name}.cache`);
    const data = fs.readFileSync(cache);
    data.writeUInt32LE(~data.readUInt32LE(4) >>> 0, 4);
    fs.writeFileSync(cache, data);
  }
  let r;
  for (const argv of [['--debug', 'list'], ['--debug', 'features']]) {
    r = run(argv);
    t.equal(r.status, 0, r.stderr);
    t.match(r.stderr, /started from a rejected code cache/, `${argv[1]}: V8 refused it; the code was compiled from source`);
  }

  // The node binary the package was built with, removed: `node` on the PATH runs it.
  fs.writeFileSync(nodePath, path.join(work, 'gone', 'node') + '\n');
  r = run(['--version'], { env: { ...process.env, PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` } });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^ocirun version /);
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['echo', 'still runs']));
  t.equal(run(['--root', root, 'run', '--bundle', bundle, 'fallback']).stdout, 'still runs\n');
});
