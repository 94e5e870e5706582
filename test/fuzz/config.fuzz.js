// Fuzz target (jsfuzz, coverage-guided): config.json text -> validate -> cgroup plan -> plan, which compiles
// the seccomp filter too. Input that is not JSON steers edits of a valid config instead (a pointer picked
// from the config's own fields, then a value of another type or size), so that most inputs reach the planner.
// A refusal is an OcirunError naming a field; anything else thrown is a crash. Run by scripts/fuzz.sh.
'use strict';
const path = require('node:path');
const dist = path.join(__dirname, '..', '..', 'dist');
const { validateSpec } = require(path.join(dist, 'config', 'load.js'));
const { buildPlan } = require(path.join(dist, 'config', 'plan.js'));
const { planCgroups } = require(path.join(dist, 'cgroups', 'manager.js'));
const { defaultSpec } = require(path.join(dist, 'config', 'default-spec.js'));
const { OcirunError } = require(path.join(dist, 'errors.js'));
const { describedHost } = require('../described-host.cjs');

/** A hybrid host, described: the planner reads nothing of the machine it runs on. */
const host = describedHost();

function base() {
  const s = defaultSpec();
  s.process.terminal = false;
  s.linux.resources = { memory: { limit: 1 << 26 }, cpu: { shares: 512, quota: 50000, period: 100000 }, pids: { limit: 64 } };
  s.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [{ names: ['mkdir', 'chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 1, value: 0o777, op: 'SCMP_CMP_MASKED_EQ', valueTwo: 0o700 }] }],
  };
  return s;
}

/** Every [parent, key] in a document. */
function slots(doc) {
  const out = [];
  const walk = (v) => {
    if (!v || typeof v !== 'object') return;
    for (const k of Object.keys(v)) {
      out.push([v, Array.isArray(v) ? Number(k) : k]);
      walk(v[k]);
    }
  };
  walk(doc);
  return out;
}

function value(b, i) {
  const n = b.length >= 4 ? b.readInt32LE(i % (b.length - 3)) : b[i % b.length];
  switch (b[i % b.length] % 12) {
    case 0: return n;
    case 1: return -n;
    case 2: return 2 ** 64 + n;
    case 3: return b.toString('latin1', i % b.length);
    case 4: return '../' + b.toString('latin1', 0, 8);
    case 5: return null;
    case 6: return true;
    case 7: return [];
    case 8: return {};
    case 9: return 'a\0b';
    case 10: return n / 7;
    default: return [b.toString('hex', 0, 4)];
  }
}

/** Edits of the base config steered by the input's bytes. */
function steered(b) {
  const doc = base();
  for (let i = 0; i + 1 < b.length && i < 24; i += 2) {
    const all = slots(doc);
    const [parent, key] = all[b[i] % all.length];
    if (b[i + 1] % 5 === 0) {
      if (Array.isArray(parent)) parent.splice(key, 1);
      else delete parent[key];
    } else parent[key] = value(b, i + 1);
  }
  return doc;
}

function fuzz(buf) {
  let doc;
  try {
    doc = JSON.parse(buf.toString('utf8'));
  } catch {
    if (buf.length === 0) return;
    doc = steered(buf);
  }
  try {
    const spec = validateSpec(doc);
    const cgroups = planCgroups(spec.linux?.resources, spec.linux?.cgroupsPath, 'fuzz', { annotations: spec.annotations });
    buildPlan({ dir: '/bundles/fuzz', rootfs: '/bundles/fuzz/rootfs', spec }, { id: 'fuzz', stateDir: '/run/ocirun/fuzz', cgroups: cgroups.record }, host);
  } catch (err) {
    if (err instanceof OcirunError) return;
    throw err;
  }
}

module.exports = { fuzz };
