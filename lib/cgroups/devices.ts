// Device access control. The config's rules (then the devices every container gets, as runc appends them)
// are folded into the state the cgroup v1 devices controller would reach: a default (allow or deny) and a list
// of exceptions. That state is then written to devices.allow/deny (v1) or compiled into a
// BPF_PROG_TYPE_CGROUP_DEVICE program (v2), so both hierarchies give one list the same meaning.
import type { CgroupWrite, DeviceRule } from './types';

export interface DeviceException {
  type: 'c' | 'b';
  major: number; // -1: any
  minor: number; // -1: any
  access: string; // some of "rwm"
}

export interface DevicePolicy {
  defaultAllow: boolean;
  exceptions: DeviceException[];
}

/** Always allowed after the config's own rules (runc's list): mknod of anything, and the standard nodes. */
export const DEFAULT_ALLOWED: DeviceRule[] = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  ...[[1, 3], [1, 8], [1, 7], [5, 0], [1, 5], [1, 9], [5, 1], [136, -1], [5, 2], [10, 200]].map(
    ([major, minor]): DeviceRule => ({ allow: true, type: 'c', major, minor: minor < 0 ? undefined : minor, access: 'rwm' }),
  ),
];

const bits = (access: string) => [...new Set(access)].filter((c) => 'rwm'.includes(c)).sort().join('');
const sameDevice = (a: DeviceException, b: DeviceException) => a.type === b.type && a.major === b.major && a.minor === b.minor;

/** Folds rules in order, as the kernel's v1 controller does: an "a" rule resets, others add or remove exceptions. */
export function devicePolicy(rules: DeviceRule[]): DevicePolicy {
  const p: DevicePolicy = { defaultAllow: false, exceptions: [] };
  for (const rule of rules) {
    const type = rule.type ?? 'a';
    if (type === 'a') {
      p.defaultAllow = rule.allow;
      p.exceptions = [];
      continue;
    }
    const ex: DeviceException = { type, major: rule.major ?? -1, minor: rule.minor ?? -1, access: bits(rule.access ?? 'rwm') };
    const same = p.exceptions.find((e) => sameDevice(e, ex));
    if (rule.allow !== p.defaultAllow) {
      if (same) same.access = bits(same.access + ex.access);
      else p.exceptions.push(ex);
    } else if (same) {
      same.access = [...same.access].filter((c) => !ex.access.includes(c)).join('');
      if (!same.access) p.exceptions.splice(p.exceptions.indexOf(same), 1);
    }
  }
  return p;
}

const ruleText = (e: DeviceException) =>
  `${e.type} ${e.major < 0 ? '*' : e.major}:${e.minor < 0 ? '*' : e.minor} ${e.access}`;

/** v1: reset to the default, then one line per exception. */
export function v1DeviceWrites(p: DevicePolicy): CgroupWrite[] {
  const field = '/linux/resources/devices';
  const reset: CgroupWrite = { controller: 'devices', file: p.defaultAllow ? 'devices.allow' : 'devices.deny', value: 'a', field };
  const file = p.defaultAllow ? 'devices.deny' : 'devices.allow';
  return [reset, ...p.exceptions.map((e) => ({ controller: 'devices', file, value: ruleText(e), field }))];
}

// --- eBPF, encoded by hand: 8 bytes per instruction (opcode, dst|src<<4, 16-bit offset, 32-bit immediate) ---
const LDX_W = 0x61, MOV32_X = 0xbc, AND32_K = 0x54, RSH32_K = 0x74, MOV64_K = 0xb7, JNE_K = 0x55, JEQ_K = 0x15, JNE_X = 0x5d, EXIT = 0x95;
type Insn = [op: number, dst: number, src: number, off: number, imm: number];
const ACCESS_BIT: Record<string, number> = { m: 1, r: 2, w: 4 }; // BPF_DEVCG_ACC_*
const TYPE_CODE = { b: 1, c: 2 }; // BPF_DEVCG_DEV_*

/**
 * The program: r3 = device type, r4 = requested access, r5 = major, r6 = minor (from bpf_cgroup_dev_ctx).
 * Each exception is one block that falls through to the next on a mismatch and otherwise returns the opposite
 * of the default. An allow exception must cover every requested access bit; a deny exception applies when it
 * shares any (the kernel's v1 rule).
 */
export function deviceProgram(p: DevicePolicy): Buffer {
  const insns: Insn[] = [
    [LDX_W, 2, 1, 0, 0],
    [MOV32_X, 3, 2, 0, 0],
    [AND32_K, 3, 0, 0, 0xffff],
    [MOV32_X, 4, 2, 0, 0],
    [RSH32_K, 4, 0, 0, 16],
    [LDX_W, 5, 1, 4, 0],
    [LDX_W, 6, 1, 8, 0],
  ];
  const verdict = p.defaultAllow ? 0 : 1;
  for (const e of p.exceptions) {
    const block: Insn[] = [];
    block.push([JNE_K, 3, 0, 0, TYPE_CODE[e.type]]);
    const mask = [...e.access].reduce((m, c) => m | ACCESS_BIT[c], 0);
    if (mask !== 7 || p.defaultAllow) {
      block.push([MOV32_X, 1, 4, 0, 0], [AND32_K, 1, 0, 0, mask]);
      block.push(p.defaultAllow ? [JEQ_K, 1, 0, 0, 0] : [JNE_X, 1, 4, 0, 0]);
    }
    if (e.major >= 0) block.push([JNE_K, 5, 0, 0, e.major]);
    if (e.minor >= 0) block.push([JNE_K, 6, 0, 0, e.minor]);
    block.push([MOV64_K, 0, 0, 0, verdict], [EXIT, 0, 0, 0, 0]);
    // Every conditional jump skips to the end of its block.
    block.forEach((ins, i) => {
      if (ins[0] !== MOV64_K && ins[0] !== EXIT && (ins[0] & 0x07) === 0x05) ins[3] = block.length - i - 1;
    });
    insns.push(...block);
  }
  insns.push([MOV64_K, 0, 0, 0, p.defaultAllow ? 1 : 0], [EXIT, 0, 0, 0, 0]);
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach(([op, dst, src, off, imm], i) => {
    buf.writeUInt8(op, i * 8);
    buf.writeUInt8((src << 4) | dst, i * 8 + 1);
    buf.writeInt16LE(off, i * 8 + 2);
    buf.writeInt32LE(imm, i * 8 + 4);
  });
  return buf;
}
