// Installed as users install it: `npm pack` of the checkout, then `npm install -g` of that tarball into a
// temporary prefix. The install builds the addon, the launcher and the prepared start; the installed `ocirun`
// runs a real container. Then the snapshot fallback: a snapshot that no longer matches its node binary (an
// upgrade of Node) is not used, and the command still works from the plain bundle.
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

t.test('the installed command works and starts from its snapshot', async (t) => {
  t.ok(fs.lstatSync(cmd).isSymbolicLink(), 'npm linked bin/ocirun');
  const v = run(['--version']);
  t.equal(v.status, 0, v.stderr);
  t.match(v.stdout, /^ocirun version \d+\.\d+\.\d+\ncommit: [0-9a-f]{40}(-dirty)?\nspec: 1\.\d+\.\d+\n$/);
  const stamp = fs.readFileSync(path.join(installed, 'build', 'Release', 'ocirun.blob.stamp'), 'utf8');
  t.match(stamp, new RegExp(`^package ${installed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), 'prepared at install, for this package');
  t.match(run(['--debug', 'list']).stderr, /started from the prepared snapshot/);

  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'echo from the installed ocirun; exit 3']));
  const r = run(['--root', root, 'run', '--bundle', bundle, 'inst']);
  t.equal(r.stdout, 'from the installed ocirun\n');
  t.equal(r.status, 3, 'exit status of the container');
  t.same(fs.readdirSync(root), []);
});

t.test('a snapshot that does not match its node binary is ignored', async (t) => {
  // A node binary of our own that can be "upgraded": the prepared start is rebuilt by it.
  const nodeDir = path.join(work, 'node');
  fs.mkdirSync(nodeDir);
  const node = path.join(nodeDir, 'node');
  fs.copyFileSync(process.execPath, node);
  fs.chmodSync(node, 0o755);
  execFileSync(node, [path.join(installed, 'scripts', 'prepare-start.js')]);
  const blob = path.join(installed, 'build', 'Release', 'ocirun.blob');
  t.match(fs.readFileSync(`${blob}.stamp`, 'utf8'), new RegExp(`^node ${node}$`, 'm'));
  t.match(run(['--debug', 'list']).stderr, /started from the prepared snapshot/);

  // The upgrade: a new binary in place of the old one, and the old snapshot left behind. A snapshot made by
  // another Node makes node abort; emulate that by giving this one another version string.
  fs.copyFileSync(process.execPath, `${node}.new`);
  fs.chmodSync(`${node}.new`, 0o755);
  fs.renameSync(`${node}.new`, node);
  const data = fs.readFileSync(blob);
  const at = data.indexOf(Buffer.from(process.version.slice(1)));
  t.ok(at > 0, 'the snapshot names its node version');
  data.write(process.version.slice(1).replace(/\d/g, '9'), at, 'latin1');
  fs.writeFileSync(blob, data);
  const forced = spawnSync(node, ['--snapshot-blob', blob, '--', '--version'], { encoding: 'utf8' });
  t.not(forced.status, 0, 'node itself cannot start from that snapshot');

  const r = run(['--debug', 'list']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /started from the plain bundle/);
  t.match(run(['--version']).stdout, /^ocirun version /);
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['echo', 'still runs']));
  t.equal(run(['--root', root, 'run', '--bundle', bundle, 'fallback']).stdout, 'still runs\n');
});
