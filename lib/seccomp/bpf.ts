// Classic BPF as seccomp uses it: opcodes, an instruction type, encoding, a disassembler and an interpreter.
// The interpreter runs a program on a seccomp_data, so that a profile's decision for a syscall can be shown
// (`ocirun seccomp`) and two programs compared decision by decision (the differential tests).

export const BPF = {
  LD_W_ABS: 0x20, // A = data[k] (32-bit)
  LDX_W_ABS: 0x21,
  ALU_AND_K: 0x54, // A &= k
  JMP_JA: 0x05, // pc += k
  JMP_JEQ_K: 0x15,
  JMP_JGT_K: 0x25,
  JMP_JGE_K: 0x35,
  JMP_JSET_K: 0x45,
  RET_K: 0x06,
  RET_A: 0x16,
  MISC_TAX: 0x07,
  MISC_TXA: 0x87,
  ST: 0x02,
  LD_MEM: 0x60,
} as const;

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** struct sock_filter, little-endian, byte by byte (Buffer's write methods cost a call and a check each). */
export function encode(prog: Insn[]): Buffer {
  const buf = Buffer.alloc(prog.length * 8);
  for (let n = 0, o = 0; n < prog.length; n++, o += 8) {
    const { code, jt, jf } = prog[n];
    const k = prog[n].k >>> 0;
    buf[o] = code & 0xff;
    buf[o + 1] = (code >>> 8) & 0xff;
    buf[o + 2] = jt;
    buf[o + 3] = jf;
    buf[o + 4] = k & 0xff;
    buf[o + 5] = (k >>> 8) & 0xff;
    buf[o + 6] = (k >>> 16) & 0xff;
    buf[o + 7] = k >>> 24;
  }
  return buf;
}

/** `bigEndian`: a program for a big-endian machine (libseccomp exports a filter of big-endian arches so). */
export function decode(buf: Buffer, bigEndian = false): Insn[] {
  const out: Insn[] = [];
  for (let o = 0; o + 8 <= buf.length; o += 8)
    out.push(bigEndian
      ? { code: buf.readUInt16BE(o), jt: buf.readUInt8(o + 2), jf: buf.readUInt8(o + 3), k: buf.readUInt32BE(o + 4) }
      : { code: buf.readUInt16LE(o), jt: buf.readUInt8(o + 2), jf: buf.readUInt8(o + 3), k: buf.readUInt32LE(o + 4) });
  return out;
}

/** struct seccomp_data: nr, arch, instruction pointer, six 64-bit arguments. */
export interface SeccompData {
  nr: number;
  arch: number;
  ip?: bigint;
  args?: bigint[];
}

function word(d: SeccompData, offset: number): number {
  if (offset === 0) return d.nr >>> 0;
  if (offset === 4) return d.arch >>> 0;
  const field = offset < 16 ? (d.ip ?? 0n) : (d.args?.[(offset - 16) >> 3] ?? 0n);
  // A 64-bit field in the arch's byte order: big-endian ones (no __AUDIT_ARCH_LE bit) put the high word first.
  const bigEndian = (d.arch & 0x40000000) === 0;
  const high = ((offset & 4) !== 0) !== bigEndian;
  return Number(high ? (field >> 32n) & 0xffffffffn : field & 0xffffffffn);
}

/** Runs a seccomp program; returns the 32-bit action it returns. Throws on a malformed program. */
export function run(prog: Insn[], d: SeccompData): number {
  let a = 0;
  let x = 0;
  const mem = new Uint32Array(16);
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc];
    switch (code) {
      case BPF.LD_W_ABS: a = word(d, k); break;
      case BPF.LDX_W_ABS: x = word(d, k); break;
      case BPF.ALU_AND_K: a = (a & k) >>> 0; break;
      case BPF.JMP_JA: pc += k; break;
      case BPF.JMP_JEQ_K: pc += a === k >>> 0 ? jt : jf; break;
      case BPF.JMP_JGT_K: pc += a > k >>> 0 ? jt : jf; break;
      case BPF.JMP_JGE_K: pc += a >= k >>> 0 ? jt : jf; break;
      case BPF.JMP_JSET_K: pc += (a & k) !== 0 ? jt : jf; break;
      case BPF.RET_K: return k >>> 0;
      case BPF.RET_A: return a >>> 0;
      case BPF.MISC_TAX: x = a; break;
      case BPF.MISC_TXA: a = x; break;
      case BPF.ST: mem[k] = a; break;
      case BPF.LD_MEM: a = mem[k]; break;
      default:
        throw new Error(`bpf: unsupported opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('bpf: program ran off its end');
}

const NAMES: Record<number, string> = {
  [BPF.LD_W_ABS]: 'ld', [BPF.ALU_AND_K]: 'and', [BPF.JMP_JA]: 'ja', [BPF.JMP_JEQ_K]: 'jeq', [BPF.JMP_JGT_K]: 'jgt',
  [BPF.JMP_JGE_K]: 'jge', [BPF.JMP_JSET_K]: 'jset', [BPF.RET_K]: 'ret',
};

export function disassemble(prog: Insn[]): string {
  return prog
    .map((i, pc) => {
      const op = NAMES[i.code] ?? `op${i.code.toString(16)}`;
      const hex = `0x${(i.k >>> 0).toString(16)}`;
      let text: string;
      if (i.code === BPF.LD_W_ABS) text = `ld [${i.k}]`;
      else if (i.code === BPF.JMP_JA) text = `ja ${pc + 1 + i.k}`;
      else if (i.code & 0x05 && (i.code & 0x07) === 0x05) text = `${op} ${hex} ? ${pc + 1 + i.jt} : ${pc + 1 + i.jf}`;
      else text = `${op} ${hex}`;
      return `${String(pc).padStart(4)}: ${text}`;
    })
    .join('\n');
}
