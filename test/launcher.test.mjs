// The `ocirun` command starts Node through its launcher (native/src/launcher): the caller's Node variables
// neither change what ocirun does nor reach the container, and the code cache made at build time is used.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { bin, fs, os, path, ocirun, runContainer, testRoot, makeBundle, state } from './helpers.mjs';

function withEnv(extra, args) {
  return ocirun('/nonexistent-root', args, { env: { ...process.env, ...extra } });
}

t.test('NODE_OPTIONS=--require is never loaded', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-nodeopts-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const marker = path.join(dir, 'loaded');
  const script = path.join(dir, 'evil.js');
  fs.writeFileSync(script, `require('fs').appendFileSync(${JSON.stringify(marker)}, 'x');`);
  const env = { NODE_OPTIONS: `--require ${script}` };
  // The fixture works: plain node does load it.
  execFileSync(process.execPath, ['-e', '0'], { env: { ...process.env, ...env } });
  t.ok(fs.existsSync(marker), 'node itself loads the file');
  fs.rmSync(marker);

  t.equal(withEnv(env, ['--version']).status, 0);
  t.match(withEnv(env, ['state', 'nope']).stderr, /container "nope" does not exist/);
  const r = runContainer(t, ['env'], () => {}, []);
  t.equal(r.status, 0, r.stderr);
  const inContainer = ocirun(r.root, ['run', '--bundle', r.bundle, 'c2'], { env: { ...process.env, ...env } });
  t.equal(inContainer.status, 0, inContainer.stderr);
  t.equal(inContainer.stdout, r.stdout, "the container's environment is config.json's alone");
  t.notMatch(inContainer.stdout, /NODE_OPTIONS/);
  t.notOk(fs.existsSync(marker), 'no ocirun command loaded the file');
});

t.test('NODE_EXTRA_CA_CERTS (and other Node variables) change nothing', async (t) => {
  const env = { NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem', NODE_DEBUG: 'fs,module', UV_THREADPOOL_SIZE: '1' };
  const plain = spawnSync(process.execPath, ['-e', '0'], { env: { ...process.env, ...env }, encoding: 'utf8' });
  t.match(plain.stderr, /extra certs/, 'node itself reads the variable (it warns about the missing file)');
  const clean = withEnv({ NODE_EXTRA_CA_CERTS: '', NODE_DEBUG: '' }, ['--version']);
  const dirty = withEnv(env, ['--version']);
  t.equal(dirty.status, 0);
  t.equal(dirty.stderr, '', 'no warning, no NODE_DEBUG output');
  t.equal(dirty.stdout, clean.stdout);
  t.equal(withEnv(env, ['state', 'nope']).stderr, 'ocirun: container "nope" does not exist\n');
});

t.test('started from the code cache, through a symlink too', async (t) => {
  const r = withEnv({}, ['--debug', 'list']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /started from the code cache/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-link-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.symlinkSync(bin, path.join(dir, 'ocirun'));
  const linked = spawnSync(path.join(dir, 'ocirun'), ['--debug', 'list'], { encoding: 'utf8' });
  t.equal(linked.status, 0, linked.stderr);
  t.match(linked.stderr, /started from the code cache/);
});

/**
 * strace -f's output with each call on one line: a call another thread interrupted is written in two pieces
 * (`openat(..., O_RDONLY|O_CLOEXEC <unfinished ...>`, later `<... openat resumed>)       = 20`, padded to align the
 * result), which a pattern for the whole call would not match (create's addon thread, copying the init stub
 * meanwhile, does that at random). The pieces are joined, without the padding.
 */
function joinResumed(text) {
  const pending = new Map();
  const out = [];
  for (const line of text.split('\n')) {
    const unfinished = /^(\d+)\s+(.*) <unfinished \.\.\.>$/.exec(line);
    const resumed = /^(\d+)\s+<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (unfinished) pending.set(unfinished[1], out.push(`${unfinished[1]}  ${unfinished[2]}`) - 1);
    else if (resumed && pending.has(resumed[1])) {
      out[pending.get(resumed[1])] += resumed[2].replace(/^\)\s+=/, ') =');
      pending.delete(resumed[1]);
    } else out.push(line);
  }
  return out.join('\n');
}

t.test('the config validator is read only by the commands that validate a config, with its own code cache; the commands that make no container start from the light cache', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-parts-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const opened = (args, root = ['--root', path.join(dir, 'root')]) => {
    const trace = path.join(dir, 'trace');
    const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', trace, bin, ...root, ...args], { encoding: 'utf8', cwd: dir });
    return { ...r, files: joinResumed(fs.readFileSync(trace, 'utf8')) };
  };
  const state = opened(['state', 'nope']);
  t.match(state.stderr, /container "nope" does not exist/);
  t.notMatch(state.files, /parts\/|validate-config/, 'state reads no part');
  t.match(state.files, /build\/Release\/ocirun-light\.cache", O_RDONLY\|O_CLOEXEC\) = \d+/, 'state starts from the light code cache');
  t.notMatch(state.files, /ocirun\.cache/, 'not the full one');
  // A config the schema refuses: create validates it, and makes nothing.
  fs.mkdirSync(path.join(dir, 'bundle', 'rootfs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'bundle', 'config.json'), JSON.stringify({ ociVersion: '1.0.2', root: { path: 'rootfs' }, process: { args: [], cwd: '/' } }));
  const create = opened(['create', '--bundle', path.join(dir, 'bundle'), 'c']);
  t.equal(create.status, 1);
  t.match(create.stderr, /\/process\/args: must contain at least 1 item/);
  t.match(create.files, /dist\/parts\/validate-config\.js/, 'create reads the validator');
  t.match(create.files, /build\/Release\/validate-config\.cache", O_RDONLY\|O_CLOEXEC\) = \d+/, 'and its code cache');
  t.match(create.files, /build\/Release\/ocirun\.cache", O_RDONLY\|O_CLOEXEC\) = \d+/, 'create starts from the full code cache');
  // --root's value is no command: `--root state create` is a create (the root, relative to the cwd, is never made:
  // the config is refused first).
  const valued = opened(['--root', 'state', 'create', '--bundle', path.join(dir, 'bundle'), 'c'], []);
  t.equal(valued.status, 1);
  t.match(valued.files, /build\/Release\/ocirun\.cache"/, 'a global flag\'s value is not taken for the command');
});

t.test('create records its time in UTC without loading the time zone (V8 toISOString reads /etc/localtime and ICU zone data first)', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '30']));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-tz-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const trace = path.join(dir, 'trace');
  const out = fs.openSync(path.join(dir, 'out'), 'w');
  const before = Date.now();
  // Without -f: the runtime's own thread only (the container, which keeps create's stdio, is not followed).
  const r = spawnSync('strace', ['-qq', '-e', 'trace=openat,open,readlink', '-o', trace, bin, '--root', root, 'create', '--bundle', bundle, 'tz'], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  t.equal(r.status, 0, fs.readFileSync(path.join(dir, 'out'), 'utf8'));
  const files = fs.readFileSync(trace, 'utf8');
  t.match(files, /config\.json/, 'the trace is of the runtime (it read the config)');
  t.notMatch(files, /localtime|zoneinfo/, 'no time zone read');
  const created = state(root, 'tz').created;
  t.match(created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.ok(Date.parse(created) >= before - 1000 && Date.parse(created) <= Date.now() + 1000, `${created} is now, in UTC`);
});
