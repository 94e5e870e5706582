#!/usr/bin/env node
// Kubernetes' path, through containerd's CRI API on a private containerd: a pod (sandbox and one container)
// from nothing to running, then a second container in the same pod, with three RuntimeClass handlers: the
// runc shim running runc, the runc shim running ocirun (BinaryName), and ocirun's own shim. Alternating runs,
// medians and ratios to the first. Then the memory of ocirun's shim (RSS and PSS) serving 1 and 10 pods,
// beside the runc shim's for the same pods.
//
//   sudo node bench/pods.mjs [--runs N]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Containerd, HOST_DIRS_LOCK, containerdConfig } from '../test/helpers/containerd.mjs';
import { CriClient, str } from '../test/cri-client.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 10;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-bench-pods-'));
const hostPaths = ['/run/containerd/s', '/run/containerd/runc/k8s.io', '/run/containerd/runc', '/run/containerd/ocirun/k8s.io', '/run/containerd/ocirun', '/run/containerd']
  .filter((d) => !fs.existsSync(d));
const HANDLERS = ['runc', 'runc-ocirun', 'ocirun-shim'];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

fs.mkdirSync(path.join(dir, 'bin'));
// ocirun's shim as installed: an installed package's bin/containerd-shim-ocirun-v2 is the launcher itself (the
// checkout's script that finds it costs ~4 ms per call, and containerd calls it at every container).
fs.symlinkSync(path.join(repo, 'build', 'Release', 'ocirun-launch'), path.join(dir, 'bin', 'containerd-shim-ocirun-v2'));
// "runc" is the stock runtime of the config (the runc shim running Debian's runc).
fs.writeFileSync(path.join(dir, 'config.toml'), containerdConfig(dir, `  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc-ocirun]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc-ocirun.options]
      BinaryName = "${path.join(repo, 'bin', 'ocirun')}"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.ocirun-shim]
    runtime_type = "io.containerd.ocirun.v2"
`));
const containerd = new Containerd(dir, { binDir: path.join(dir, 'bin') });
let cri;
const pods = [];
try {
  await containerd.start();
  containerd.importImages('bench', 'localhost/bench:1', repo);
  cri = new CriClient(containerd.sock);

  let n = 0;
  const podConfig = (name) => ({ 1: { 1: name, 2: `uid-${name}`, 3: 'default', 4: 0 }, 3: path.join(dir, 'logs', name), 8: { 2: { 1: { 1: 2 } } } });
  async function container(pod, config, name) {
    const id = str(await cri.runtime('CreateContainer', { 1: pod, 2: { 1: { 1: name, 2: 0 }, 2: { 1: 'localhost/bench:1' }, 3: ['sleep', '1000'], 11: `${name}.log` }, 3: config }), 1);
    await cri.runtime('StartContainer', { 1: id });
    return id;
  }
  async function startPod(handler) {
    const name = `p${n++}`;
    const config = podConfig(name);
    const pod = str(await cri.runtime('RunPodSandbox', { 1: config, 2: handler }), 1);
    pods.push(pod);
    return { pod, config };
  }
  async function removePod(pod) {
    await cri.runtime('StopPodSandbox', { 1: pod });
    await cri.runtime('RemovePodSandbox', { 1: pod });
    pods.splice(pods.indexOf(pod), 1);
  }

  const first = HANDLERS.map(() => []);
  const second = HANDLERS.map(() => []);
  for (let i = 0; i < runs; i++)
    for (const [k, handler] of HANDLERS.entries()) {
      let t0 = process.hrtime.bigint();
      const { pod, config } = await startPod(handler);
      await container(pod, config, 'one');
      first[k].push(ms(t0));
      t0 = process.hrtime.bigint();
      await container(pod, config, 'two');
      second[k].push(ms(t0));
      await removePod(pod);
    }
  for (const [title, samples] of [['a pod (sandbox + one container) to running', first], ['a second container in the same pod', second]]) {
    console.log(`\nCRI: ${title} (${runs} runs each, alternating; median ms, ratio to the runc shim with runc)`);
    HANDLERS.forEach((h, k) => console.log(`  ${h.padEnd(12)} ${median(samples[k]).toFixed(1).padStart(8)} ms   x${(median(samples[k]) / median(samples[0])).toFixed(2)}`));
  }

  // Memory: the shim processes (ocirun's: one per pod; Go's runc shim: one per pod too) after 1 and 10 pods.
  const memOf = (pid) => {
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(rollup)[1]);
    return { rss: kb('Rss'), pss: kb('Pss') };
  };
  const shimPids = (pattern) => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return pattern.test(fs.readFileSync(`/proc/${p}/cmdline`, 'utf8'));
    } catch {
      return false;
    }
  });
  console.log('\nShim memory (sum over the shim processes; kB)');
  const memory = async (label, handler, pattern) => {
    for (const count of [1, 10]) {
      const made = [];
      for (let i = 0; i < count; i++) {
        const { pod, config } = await startPod(handler);
        await container(pod, config, 'one');
        made.push(pod);
      }
      const pids = shimPids(pattern);
      const sum = pids.map(memOf).reduce((a, m) => ({ rss: a.rss + m.rss, pss: a.pss + m.pss }), { rss: 0, pss: 0 });
      console.log(`  ${String(count).padStart(2)} pod(s) ${label.padEnd(24)} ${pids.length} shim(s)   RSS ${sum.rss} kB   PSS ${sum.pss} kB   (${Math.round(sum.pss / count)} kB PSS per pod)`);
      for (const pod of made) await removePod(pod);
    }
  };
  await memory('runc', 'runc', /containerd-shim-runc-v2/);
  await memory('ocirun-shim', 'ocirun-shim', /dist\/shim\/start\.js/);
  // One shim for the whole namespace (README: OCIRUN_SHIM_GROUP): containerd restarted with it.
  cri.close();
  await containerd.stop();
  await containerd.start({ OCIRUN_SHIM_GROUP: 'namespace' });
  cri = new CriClient(containerd.sock);
  await memory('ocirun-shim, per namespace', 'ocirun-shim', /dist\/shim\/start\.js/);
} finally {
  for (const pod of [...pods]) {
    await cri.runtime('StopPodSandbox', { 1: pod }).catch(() => {});
    await cri.runtime('RemovePodSandbox', { 1: pod }).catch(() => {});
  }
  cri?.close();
  await containerd.destroy(['bench', 'k8s.io']);
  for (const d of ['/run/containerd/ocirun/k8s.io', '/run/containerd/runc/k8s.io']) if (hostPaths.includes(d)) fs.rmSync(d, { recursive: true, force: true });
  for (const d of hostPaths) try { fs.rmdirSync(d); } catch { /* not empty: not only ours */ }
  containerd.release();
  fs.rmSync(HOST_DIRS_LOCK, { force: true }); // the suite's TMPDIR is swept; a benchmark's is /tmp
  for (const d of fs.readdirSync('/sys/fs/cgroup').map((c) => `/sys/fs/cgroup/${c}/k8s.io`)) try { fs.rmdirSync(d); } catch { /* in use, or none */ }
}
