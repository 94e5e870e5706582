// Differential test of the seccomp compiler: for many generated profiles, ocirun's BPF and the BPF that
// Debian's libseccomp generates for the same profile must give the same decision for every syscall number of
// every architecture and for representative argument values.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { fs, os, path, repo } from './helpers.mjs';

const { compileSeccomp, ACTIONS, ARCHES: ALL_ARCHES, syscallTable } = await import(path.join(repo, 'dist', 'seccomp', 'compile.js'));
const bpf = await import(path.join(repo, 'dist', 'seccomp', 'bpf.js'));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-seccomp-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const oracle = path.join(dir, 'seccomp-export');
execFileSync('gcc', ['-O2', '-o', oracle, path.join(repo, 'test', 'fixtures', 'seccomp-export.c'), '-lseccomp']);

// Every architecture of ocirun's whose name this libseccomp knows (Debian's 2.5.4 has no loongarch64, m68k or
// sh), with libseccomp's syscall numbers next to ours. A syscall the two tables disagree on (one of them
// older) is left out of the decisions below; the table test shows where they differ.
const libName = (a) => a.replace('SCMP_ARCH_', '').toLowerCase();
const ourNames = (a) => Object.keys(syscallTable(ALL_ARCHES[a].arch));
const queries = Object.keys(ALL_ARCHES).flatMap((a) => ourNames(a).map((n) => [a, n]));
const answers = execFileSync(oracle, ['resolve'], { input: queries.map(([a, n]) => `${libName(a)} ${n}`).join('\n') + '\n', encoding: 'utf8' }).trim().split('\n');
const theirs = {};
queries.forEach(([a, n], i) => {
  if (answers[i] === 'unknown-arch') return;
  (theirs[a] ??= {})[n] = Number(answers[i]);
});
const ARCHES = Object.fromEntries(Object.entries(ALL_ARCHES).filter(([a]) => theirs[a]));
// libseccomp answers a pseudo number (below -1) for a call it reaches through a multiplexer (x86's socket()):
// it still puts rules on it, as ocirun does.
const agreed = (a, n) => {
  const ours = syscallTable(ALL_ARCHES[a].arch)[n];
  return ours === undefined ? theirs[a][n] === -1 : theirs[a][n] === ours || theirs[a][n] < -1;
};

const OP_NUM = { SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7 };
const ARCH_TOKENS = [...new Set(Object.values(ALL_ARCHES).map((a) => a.token))];

// libseccomp 2.5.4 mis-generates some multi-architecture filters (a later architecture's block can jump into
// code shared with an earlier one without loading the syscall number, so its rules compare the arch value and
// never match). The oracle is therefore libseccomp's filter for each architecture alone (x86_64 and x32
// together: they share an audit arch), against ocirun's one multi-architecture filter.
function archGroups(architectures) {
  const groups = [];
  const x86ish = architectures.filter((a) => a === 'SCMP_ARCH_X86_64' || a === 'SCMP_ARCH_X32');
  if (x86ish.length) groups.push(x86ish);
  for (const a of architectures) if (!x86ish.includes(a)) groups.push([a]);
  return groups;
}

function libseccompProgram(p, architectures) {
  const act = (name, ret) => ACTIONS[name](ret ?? 1) >>> 0;
  let text = `default ${act(p.defaultAction, p.defaultErrnoRet)}\n`;
  for (const a of architectures) text += `arch ${libName(a)}\n`;
  // Rules on syscalls an architecture does not have are no-ops there, but libseccomp 2.5.4 loses the syscall
  // number load when a filter holds one; they are left out of its input (the second bug worked around here).
  const known = (n) => architectures.some((a) => syscallTable(ARCHES[a].arch)[n] !== undefined);
  for (const s of p.syscalls)
    for (const n of s.names.filter(known))
      text += `rule ${act(s.action, s.errnoRet)} ${n} ${(s.args ?? []).map((a) => `${a.index} ${OP_NUM[a.op]} ${a.value} ${a.valueTwo ?? 0}`).join(' ')}\n`;
  // libseccomp writes a filter of big-endian architectures in their byte order.
  return bpf.decode(execFileSync(oracle, { input: text }), architectures.every((a) => ARCHES[a].endian === 'be'));
}

// A small deterministic PRNG, so that a failure can be reproduced from its seed.
function rng(seed) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)] };
}

const ALL_NAMES = [...new Set(Object.keys(ARCHES).flatMap(ourNames))].sort();
const VALUES32 = [0n, 1n, 2n, 7n, 8n, 0x80000000n, 0xfffffffen, 0xffffffffn];
const VALUES64 = [...VALUES32, 0x100000000n, 0x1ffffffffn, 0xffffffff00000000n, 0xffffffffffffffffn];

function generate(seed) {
  const r = rng(seed);
  const archNames = Object.keys(ARCHES);
  const architectures = archNames.filter(() => r.next() < 0.2);
  if (!architectures.length) architectures.push(r.pick(archNames));
  const only64 = architectures.every((a) => ARCHES[a].bits === 64);
  const values = only64 ? VALUES64 : VALUES32;
  const actions = [['SCMP_ACT_ALLOW'], ['SCMP_ACT_ERRNO', 1], ['SCMP_ACT_ERRNO', 38], ['SCMP_ACT_KILL_PROCESS'], ['SCMP_ACT_KILL_THREAD'], ['SCMP_ACT_TRAP'], ['SCMP_ACT_LOG'], ['SCMP_ACT_TRACE', 5]];
  const [defaultAction, defaultErrnoRet] = r.pick(actions);
  const syscalls = [];
  const used = new Set();
  for (let i = 0, n = 5 + r.int(40); i < n; i++) {
    // Explicit rules on the x86 multiplexers next to rules on their members are left out: which of two
    // overlapping rules libseccomp lets win is its own business (see the closing note of the issue).
    const name = r.next() < 0.03 ? 'not_a_syscall' : r.pick(ALL_NAMES.filter((n) => n !== 'socketcall' && n !== 'ipc' && architectures.every((a) => agreed(a, n))));
    if (used.has(name)) continue;
    used.add(name);
    const [action, errnoRet] = r.pick(actions.filter(([a]) => a !== defaultAction));
    if (r.next() < 0.5) {
      syscalls.push({ names: [name], action, ...(errnoRet ? { errnoRet } : {}) });
      continue;
    }
    // Conditional rules for one syscall: each on its own argument with its own action, so that two rules
    // never match the same call (libseccomp's order among overlapping rules is its own; see the note).
    const indices = [0, 1, 2, 3, 4, 5].sort(() => r.next() - 0.5).slice(0, 1 + r.int(3));
    for (const index of indices) {
      const op = r.pick(Object.keys(OP_NUM));
      const value = r.pick(values);
      const args = [{ index, op, value: String(value), ...(op === 'SCMP_CMP_MASKED_EQ' ? { valueTwo: String(value & r.pick(values)) } : {}) }];
      if (r.next() < 0.3) {
        const other = (index + 1 + r.int(5)) % 6;
        args.push({ index: other, op: 'SCMP_CMP_EQ', value: String(r.pick(values)) });
      }
      syscalls.push({ names: [name], action, ...(errnoRet ? { errnoRet } : {}), args });
      break; // one conditional rule per syscall keeps matches disjoint
    }
  }
  return { defaultAction, ...(defaultErrnoRet ? { defaultErrnoRet } : {}), architectures, syscalls };
}

function argVectors(profile) {
  const consts = new Set([0n, 1n]);
  for (const s of profile.syscalls)
    for (const a of s.args ?? [])
      for (const v of [BigInt(a.value), BigInt(a.valueTwo ?? 0)]) for (const d of [-1n, 0n, 1n]) consts.add(BigInt.asUintN(64, v + d));
  const list = [...consts];
  const vectors = list.map((c) => Array(6).fill(c));
  const r = rng(list.length);
  for (let i = 0; i < 40; i++) vectors.push(Array.from({ length: 6 }, () => r.pick(list)));
  return vectors;
}

t.test('ocirun and libseccomp agree on every decision', async (t) => {
  const special = [0xffffffff, 0x3fffffff, 0x40000000, 0x7fffffff, 4095];
  const profiles = 150;
  let decisions = 0;
  for (let seed = 1; seed <= profiles; seed++) {
    const profile = generate(seed);
    const mine = compileSeccomp(profile, { exactArches: true }).instructions;
    const oracles = archGroups(profile.architectures).map((g) => ({
      tokens: new Set(g.map((a) => ARCHES[a].token)),
      program: libseccompProgram(profile, g),
    }));
    const theirsFor = (arch) => (oracles.find((o) => o.tokens.has(arch)) ?? oracles[0]).program;
    const vectors = argVectors(profile);
    const withArgs = new Set(profile.syscalls.filter((s) => s.args).flatMap((s) => s.names));
    const conditioned = new Set();
    const tables = profile.architectures.map((a) => syscallTable(ARCHES[a].arch));
    for (const table of tables) for (const n of withArgs) if (table[n] !== undefined) conditioned.add(table[n]);
    // Every number of the filter's architectures, on each of their tokens and on one it does not name.
    const nrs = new Set([...special, ...tables.flatMap((tb) => Object.values(tb))]);
    const tokens = new Set(profile.architectures.map((a) => ARCHES[a].token));
    tokens.add(ARCH_TOKENS.find((k) => !tokens.has(k)));
    const mismatches = [];
    for (const arch of tokens)
      for (const nr of nrs)
        for (const args of conditioned.has(nr) ? vectors : [vectors[0]]) {
          const d = { nr, arch, args };
          const a = bpf.run(mine, d);
          const b = bpf.run(theirsFor(arch), d);
          decisions++;
          if (a !== b && mismatches.length < 5)
            mismatches.push(`arch 0x${arch.toString(16)} nr ${nr} args ${args.map((x) => `0x${x.toString(16)}`).join(',')}: ocirun 0x${a.toString(16)}, libseccomp 0x${b.toString(16)}`);
        }
    t.same(mismatches, [], `profile ${seed}: ${profile.architectures.join(',')}, ${profile.syscalls.length} rules, default ${profile.defaultAction}`);
  }
  t.comment(`${decisions} decisions compared over ${profiles} profiles`);
});

t.test('the syscall tables agree with libseccomp\'s where both know a syscall', async (t) => {
  for (const a of Object.keys(ALL_ARCHES)) {
    if (!theirs[a]) {
      t.comment(`${a}: this libseccomp does not know it (the table is checked only here by its generator)`);
      continue;
    }
    const ours = syscallTable(ALL_ARCHES[a].arch);
    const differ = Object.keys(ours).filter((n) => theirs[a][n] >= 0 && theirs[a][n] !== ours[n]).map((n) => `${n}: ${ours[n]} vs ${theirs[a][n]}`);
    const onlyOurs = Object.keys(ours).filter((n) => theirs[a][n] === -1);
    t.same(differ, [], `${a}: ${Object.keys(ours).length} syscalls, the same numbers (${onlyOurs.length} newer than this libseccomp: ${onlyOurs.slice(0, 4).join(' ')}${onlyOurs.length > 4 ? ' ...' : ''})`);
  }
});
