// linux.seccomp -> a classic BPF program, with the decisions libseccomp would give for the same profile
// (the differential tests check that, syscall by syscall). No native seccomp library is involved: the addon
// only installs the program.
//
// Layout: load the arch; for each architecture of the filter a block that loads the syscall number and, for
// each syscall with rules, runs its rules in order (the first whose conditions all hold gives the action),
// else the default action. An architecture not in the filter gets the bad-arch action (KILL_THREAD, as
// libseccomp's default). Arguments are 64-bit, compared high word first; on 32-bit ABIs only the low word.
// Every architecture libseccomp names can be in a filter (a profile written for several loads unchanged);
// the tables of those other than x86's and aarch64 are loaded only when a profile names one.
import { ConfigError } from '../errors';
import { BPF, encode, type Insn } from './bpf';
import { SYSCALLS } from './syscalls.generated';
import { part } from '../parts';

/** A syscall table: x86_64, x86, x32, aarch64, or one of syscalls-other.generated.ts. */
export type Arch = string;

export interface ArchInfo {
  arch: Arch; // its syscall table
  token: number; // AUDIT_ARCH_*, as seccomp_data.arch holds it
  bits: 32 | 64;
  endian: 'le' | 'be'; // where the low word of a 64-bit argument is
}

/** The syscall numbers of an architecture by name. */
export function syscallTable(arch: Arch): Record<string, number> {
  const core = (SYSCALLS as Record<string, Record<string, number>>)[arch];
  if (core) return core;
  return part<typeof import('./syscalls-other.generated')>('syscalls-other').OTHER_SYSCALLS[arch];
}

const arch = (table: Arch, token: number, bits: 32 | 64): ArchInfo => ({ arch: table, token, bits, endian: token & 0x40000000 ? 'le' : 'be' });
export const ARCHES: Record<string, ArchInfo> = {
  SCMP_ARCH_X86_64: arch('x86_64', 0xc000003e, 64),
  SCMP_ARCH_X86: arch('x86', 0x40000003, 32),
  SCMP_ARCH_X32: arch('x32', 0xc000003e, 32),
  SCMP_ARCH_AARCH64: arch('aarch64', 0xc00000b7, 64),
  SCMP_ARCH_ARM: arch('arm', 0x40000028, 32),
  SCMP_ARCH_MIPS: arch('mips', 0x00000008, 32),
  SCMP_ARCH_MIPSEL: arch('mips', 0x40000008, 32),
  SCMP_ARCH_MIPS64: arch('mips64', 0x80000008, 64),
  SCMP_ARCH_MIPSEL64: arch('mips64', 0xc0000008, 64),
  SCMP_ARCH_MIPS64N32: arch('mips64n32', 0xa0000008, 32),
  SCMP_ARCH_MIPSEL64N32: arch('mips64n32', 0xe0000008, 32),
  SCMP_ARCH_PPC: arch('ppc', 0x00000014, 32),
  SCMP_ARCH_PPC64: arch('ppc64', 0x80000015, 64),
  SCMP_ARCH_PPC64LE: arch('ppc64', 0xc0000015, 64),
  SCMP_ARCH_S390: arch('s390', 0x00000016, 32),
  SCMP_ARCH_S390X: arch('s390x', 0x80000016, 64),
  SCMP_ARCH_PARISC: arch('parisc', 0x0000000f, 32),
  SCMP_ARCH_PARISC64: arch('parisc64', 0x8000000f, 64),
  SCMP_ARCH_RISCV64: arch('riscv64', 0xc00000f3, 64),
  SCMP_ARCH_LOONGARCH64: arch('loongarch64', 0xc0000102, 64),
  SCMP_ARCH_M68K: arch('m68k', 0x00000004, 32),
  SCMP_ARCH_SH: arch('sh', 0x4000002a, 32),
  SCMP_ARCH_SHEB: arch('sh', 0x0000002a, 32),
};
const X32_BIT = 0x40000000;

const NATIVE: Record<string, string> = { x64: 'SCMP_ARCH_X86_64', ia32: 'SCMP_ARCH_X86', arm64: 'SCMP_ARCH_AARCH64' };
export const NATIVE_ARCH: string | undefined = NATIVE[process.arch];

export const ACTIONS: Record<string, (ret: number) => number> = {
  SCMP_ACT_KILL: () => 0x00000000,
  SCMP_ACT_KILL_THREAD: () => 0x00000000,
  SCMP_ACT_KILL_PROCESS: () => 0x80000000,
  SCMP_ACT_TRAP: () => 0x00030000,
  SCMP_ACT_ERRNO: (ret) => 0x00050000 | (ret & 0xffff),
  SCMP_ACT_TRACE: (ret) => 0x7ff00000 | (ret & 0xffff),
  SCMP_ACT_LOG: () => 0x7ffc0000,
  SCMP_ACT_ALLOW: () => 0x7fff0000,
  SCMP_ACT_NOTIFY: () => 0x7fc00000,
};
export const RET_USER_NOTIF = 0x7fc00000;

export const FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};
export const FLAG_NEW_LISTENER = 8;

export const OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;
export type Op = (typeof OPS)[number];

export interface ArgCmp {
  index: number;
  value: number | bigint;
  valueTwo?: number | bigint;
  op: Op;
}

export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: { names: string[]; action: string; errnoRet?: number; args?: ArgCmp[] }[];
}

export interface CompiledFilter {
  program: Buffer;
  instructions: Insn[];
  flags: number;
  notify: boolean;
}

const EPERM = 1;

// On the ABIs that have socketcall(2) and ipc(2) (x86, mips o32, ppc, ppc64, s390, s390x, m68k, sh), the socket
// and SysV IPC calls also go through those multiplexers, whose first argument names the call: a rule on
// socket() also covers socketcall(SYS_SOCKET, ...), as libseccomp does.
const MULTIPLEXED: Record<string, [multiplexer: string, call: number]> = Object.fromEntries([
  ...['socket', 'bind', 'connect', 'listen', 'accept', 'getsockname', 'getpeername', 'socketpair', 'send', 'recv',
    'sendto', 'recvfrom', 'shutdown', 'setsockopt', 'getsockopt', 'sendmsg', 'recvmsg', 'accept4', 'recvmmsg',
    'sendmmsg'].map((n, i): [string, [string, number]] => [n, ['socketcall', i + 1]]),
  ...Object.entries({ semop: 1, semget: 2, semctl: 3, semtimedop: 4, msgsnd: 11, msgrcv: 12, msgget: 13, msgctl: 14,
    shmat: 21, shmdt: 22, shmget: 23, shmctl: 24 }).map(([n, c]): [string, [string, number]] => [n, ['ipc', c]]),
]);

function action(name: string, ret: number | undefined, where: string): number {
  const f = ACTIONS[name];
  if (!f) throw new ConfigError(where, `unknown seccomp action ${name}`);
  return f(ret ?? EPERM) >>> 0;
}

interface Rule {
  action: number;
  args: ArgCmp[];
}

// A tiny assembler: jumps name their targets ('pass': end of this condition, 'fail': end of the rule, or a
// relative count), resolved once the pieces' lengths are known.
type Target = number | 'pass' | 'fail';
interface Ins {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
}

const ld = (k: number): Ins => ({ code: BPF.LD_W_ABS, k });
const j = (code: number, k: number, jt: Target, jf: Target): Ins => ({ code, k, jt, jf });

/** The low-word test of an operator, and (64-bit ABIs) the high-word test in front of it. */
function condition(c: ArgCmp, bits: 32 | 64, endian: 'le' | 'be'): Ins[] {
  const v = BigInt.asUintN(64, BigInt(c.value));
  const lo = Number(v & 0xffffffffn);
  const hi = Number(v >> 32n);
  const LO = 16 + 8 * c.index + (endian === 'be' ? 4 : 0);
  const HI = 16 + 8 * c.index + (endian === 'be' ? 0 : 4);
  const { JMP_JEQ_K: EQ, JMP_JGT_K: GT, JMP_JGE_K: GE } = BPF;
  const wide = bits === 64;
  switch (c.op) {
    case 'SCMP_CMP_EQ':
      return wide ? [ld(HI), j(EQ, hi, 0, 'fail'), ld(LO), j(EQ, lo, 'pass', 'fail')] : [ld(LO), j(EQ, lo, 'pass', 'fail')];
    case 'SCMP_CMP_NE':
      return wide ? [ld(HI), j(EQ, hi, 0, 'pass'), ld(LO), j(EQ, lo, 'fail', 'pass')] : [ld(LO), j(EQ, lo, 'fail', 'pass')];
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE': {
      const low = [ld(LO), j(c.op === 'SCMP_CMP_GT' ? GT : GE, lo, 'pass', 'fail')];
      return wide ? [ld(HI), j(GT, hi, 'pass', 0), j(EQ, hi, 0, 'fail'), ...low] : low;
    }
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE': {
      const low = [ld(LO), j(c.op === 'SCMP_CMP_LT' ? GE : GT, lo, 'fail', 'pass')];
      return wide ? [ld(HI), j(GT, hi, 'fail', 0), j(EQ, hi, 0, 'pass'), ...low] : low;
    }
    case 'SCMP_CMP_MASKED_EQ': {
      const w = BigInt.asUintN(64, BigInt(c.valueTwo ?? 0));
      const low = [ld(LO), { code: BPF.ALU_AND_K, k: lo }, j(EQ, Number(w & 0xffffffffn), 'pass', 'fail')];
      return wide ? [ld(HI), { code: BPF.ALU_AND_K, k: hi }, j(EQ, Number(w >> 32n), 0, 'fail'), ...low] : low;
    }
  }
}

/** One rule: its conditions in order, then its action. 'fail' leads past it, to the next rule. */
function ruleCode(rule: Rule, a: ArchInfo, out: Insn[]): void {
  const conds = rule.args.map((c) => condition(c, a.bits, a.endian));
  let total = 1;
  for (const c of conds) total += c.length;
  let at = 0;
  for (const c of conds) {
    const end = at + c.length; // index just past this condition
    for (const ins of c) {
      const jt = ins.jt === 'pass' ? end - at - 1 : ins.jt === 'fail' ? total - at - 1 : (ins.jt ?? 0);
      const jf = ins.jf === 'pass' ? end - at - 1 : ins.jf === 'fail' ? total - at - 1 : (ins.jf ?? 0);
      if (jt > 255 || jf > 255) throw new Error('seccomp: a rule is too long for a conditional jump');
      out.push({ code: ins.code, k: ins.k >>> 0, jt, jf });
      at++;
    }
  }
  out.push({ code: BPF.RET_K, k: rule.action, jt: 0, jf: 0 });
}

/** `if (A == k) { body }`: a short conditional jump when the body fits, else a long `ja` over it. */
function guarded(k: number, body: Insn[]): Insn[] {
  if (body.length <= 255) return [{ code: BPF.JMP_JEQ_K, k: k >>> 0, jt: 0, jf: body.length }, ...body];
  return [{ code: BPF.JMP_JEQ_K, k: k >>> 0, jt: 1, jf: 0 }, { code: BPF.JMP_JA, k: body.length, jt: 0, jf: 0 }, ...body];
}

/**
 * One architecture's rules by syscall number, in profile order. Numbers are kept relative to the table's base
 * (x32's carry bit 30, which takes them out of V8's small integers: every map operation on them then boxed a
 * number, and a create spent milliseconds there), and put back in the instructions.
 */
interface ArchRules {
  info: ArchInfo;
  table: Record<string, number>;
  base: number;
  /** By syscall number: the action of a first rule without conditions (later rules never apply), or the rules. */
  rules: Map<number, number | Rule[]>;
}

/**
 * The checks of one architecture. A syscall whose first rule has no condition always gets that rule's action:
 * runs of consecutive such numbers with one action become one range test (a default allow-list of several
 * hundred syscalls fits in a few hundred instructions per architecture, several architectures in the kernel's
 * 4096). Syscalls with conditions get their rules in order, then the default.
 */
function syscallChecks({ info, base, rules }: ArchRules, defaultAction: number): Insn[] {
  // Loops by index and Map.forEach: this runs once per create, in V8's interpreter, where for-of and
  // destructuring allocate an iterator result (and an entry array) per step.
  const out: Insn[] = [];
  const fixedNrs: number[] = [];
  rules.forEach((list, nr) => {
    if (typeof list === 'number') {
      fixedNrs.push(nr);
      return;
    }
    const body: Insn[] = [];
    for (let i = 0; i < list.length; i++) ruleCode(list[i], info, body);
    body.push({ code: BPF.RET_K, k: defaultAction, jt: 0, jf: 0 });
    const block = guarded(nr + base, body);
    for (let i = 0; i < block.length; i++) out.push(block[i]);
  });
  const nrs = new Uint32Array(fixedNrs).sort();
  for (let i = 0; i < nrs.length; ) {
    const act = rules.get(nrs[i]) as number;
    let j = i;
    while (j + 1 < nrs.length && nrs[j + 1] === nrs[j] + 1 && rules.get(nrs[j + 1]) === act) j++;
    const lo = (nrs[i] + base) >>> 0;
    const hi = (nrs[j] + base) >>> 0;
    if (lo === hi) out.push({ code: BPF.JMP_JEQ_K, k: lo, jt: 0, jf: 1 });
    else out.push({ code: BPF.JMP_JGE_K, k: lo, jt: 0, jf: 2 }, { code: BPF.JMP_JGT_K, k: hi, jt: 1, jf: 0 });
    out.push({ code: BPF.RET_K, k: act, jt: 0, jf: 0 });
    i = j + 1;
  }
  return out;
}

export interface CompileOptions {
  /** Architectures of the filter exactly as given (no native one added): for tests against libseccomp. */
  exactArches?: boolean;
}

export function compileSeccomp(s: SeccompProfile, opts: CompileOptions = {}): CompiledFilter {
  const defaultAction = action(s.defaultAction, s.defaultErrnoRet, '/linux/seccomp/defaultAction');
  if (defaultAction === RET_USER_NOTIF)
    throw new ConfigError('/linux/seccomp/defaultAction', 'SCMP_ACT_NOTIFY cannot be the default action');
  const names = [...(opts.exactArches || !NATIVE_ARCH ? [] : [NATIVE_ARCH]), ...(s.architectures ?? [])];
  // The filter's architectures by libseccomp name (mips and mipsel share a table, not a token).
  const arches = new Set<string>();
  names.forEach((n, i) => {
    if (!ARCHES[n]) throw new ConfigError(`/linux/seccomp/architectures/${i - (names.length - (s.architectures?.length ?? 0))}`, `unsupported architecture ${n}`);
    arches.add(n);
  });
  let flags = 0;
  (s.flags ?? []).forEach((f, i) => {
    if (FLAGS[f] === undefined) throw new ConfigError(`/linux/seccomp/flags/${i}`, `unknown seccomp flag ${f}`);
    flags |= FLAGS[f];
  });

  // Rules per architecture and syscall number, in profile order.
  const perArch = new Map<string, ArchRules>();
  for (const a of arches) {
    const info = ARCHES[a];
    perArch.set(a, { info, table: syscallTable(info.arch), base: info.arch === 'x32' ? X32_BIT : 0, rules: new Map() });
  }
  const targets = [...perArch.values()];
  let notify = false;
  (s.syscalls ?? []).forEach((entry, i) => {
    const act = action(entry.action, entry.errnoRet, `/linux/seccomp/syscalls/${i}/action`);
    if (act === defaultAction) return; // runc skips these (libseccomp refuses them)
    const args = entry.args ?? [];
    args.forEach((a, k) => {
      if (a.index > 5) throw new ConfigError(`/linux/seccomp/syscalls/${i}/args/${k}/index`, 'must be 0 to 5');
      if (!OPS.includes(a.op)) throw new ConfigError(`/linux/seccomp/syscalls/${i}/args/${k}/op`, `unknown operator ${a.op}`);
    });
    notify ||= act === RET_USER_NOTIF;
    const add = (rules: Map<number, number | Rule[]>, nr: number, ruleArgs: ArgCmp[]) => {
      const list = rules.get(nr);
      if (list === undefined) rules.set(nr, ruleArgs.length ? [{ action: act, args: ruleArgs }] : act);
      else if (typeof list !== 'number') list.push({ action: act, args: ruleArgs });
    };
    for (let n = 0; n < entry.names.length; n++) {
      const name = entry.names[n];
      const mux = MULTIPLEXED[name];
      const muxArgs = mux && [{ index: 0, op: 'SCMP_CMP_EQ' as const, value: mux[1] }, ...args.filter((a) => a.index !== 0)];
      for (let t = 0; t < targets.length; t++) {
        const { table, base, rules } = targets[t];
        const nr = table[name];
        if (nr !== undefined) add(rules, nr - base, args); // unknown on this arch: skipped, as runc does
        const muxNr = mux && table[mux[0]];
        if (muxNr !== undefined) add(rules, muxNr - base, muxArgs!);
      }
    }
  });

  const prog: Insn[] = [{ code: BPF.LD_W_ABS, k: 4, jt: 0, jf: 0 }];
  const byToken = new Map<number, string[]>();
  for (const a of arches) byToken.set(ARCHES[a].token, [...(byToken.get(ARCHES[a].token) ?? []), a]);
  const ldNr: Insn = { code: BPF.LD_W_ABS, k: 0, jt: 0, jf: 0 };
  const ret = (k: number): Insn => ({ code: BPF.RET_K, k: k >>> 0, jt: 0, jf: 0 });
  const badArch = 0; // SCMP_ACT_KILL_THREAD
  const checks = (a: string) => syscallChecks(perArch.get(a)!, defaultAction);
  for (const [token, group] of byToken) {
    let block: Insn[];
    if (token === ARCHES.SCMP_ARCH_X86_64.token) {
      // x86_64 and x32 share the audit arch; the x32 bit of the number tells them apart.
      const native = group.includes('SCMP_ARCH_X86_64') ? checks('SCMP_ARCH_X86_64') : undefined;
      const x32 = group.includes('SCMP_ARCH_X32') ? checks('SCMP_ARCH_X32') : undefined;
      if (native && x32) block = [ldNr, ...native, ...x32, ret(defaultAction)];
      else if (native) block = [ldNr, ...x32BitIsBadArch(), ...native, ret(defaultAction)];
      else block = [ldNr, ...onlyX32(x32!, defaultAction)];
    } else {
      block = [ldNr, ...checks(group[0]), ret(defaultAction)];
    }
    prog.push(...guarded(token, block));
  }
  prog.push(ret(badArch));
  if (prog.length > 4096) throw new ConfigError('/linux/seccomp', `the filter needs ${prog.length} instructions, more than the kernel's 4096`);
  return { program: encode(prog), instructions: prog, flags: flags | (notify ? FLAG_NEW_LISTENER : 0), notify };
}

/** x86_64 alone: a number with the x32 bit is a bad arch, except -1 (a tracer's skip), which reaches the rules. */
function x32BitIsBadArch(): Insn[] {
  return [
    { code: BPF.JMP_JGE_K, k: X32_BIT, jt: 0, jf: 2 },
    { code: BPF.JMP_JEQ_K, k: 0xffffffff, jt: 1, jf: 0 },
    { code: BPF.RET_K, k: 0, jt: 0, jf: 0 },
  ];
}

/** x32 alone: a number without the x32 bit is a bad arch. */
function onlyX32(checks: Insn[], defaultAction: number): Insn[] {
  const body = [...checks, { code: BPF.RET_K, k: defaultAction >>> 0, jt: 0, jf: 0 }];
  const bad: Insn = { code: BPF.RET_K, k: 0, jt: 0, jf: 0 };
  return [{ code: BPF.JMP_JGE_K, k: X32_BIT, jt: 1, jf: 0 }, bad, ...body];
}
