// What a profile does, for people: the program as text, and the decision for one syscall.
import { disassemble, run } from './bpf';
import { ARCHES, NATIVE_ARCH, compileSeccomp, syscallTable, type SeccompProfile } from './compile';
import { OcirunError } from '../errors';

export function actionName(ret: number): string {
  const data = ret & 0xffff;
  switch ((ret & 0xffff0000) >>> 0) {
    case 0x80000000: return 'SCMP_ACT_KILL_PROCESS';
    case 0x00000000: return 'SCMP_ACT_KILL_THREAD';
    case 0x00030000: return 'SCMP_ACT_TRAP';
    case 0x00050000: return `SCMP_ACT_ERRNO(${data})`;
    case 0x7ff00000: return `SCMP_ACT_TRACE(${data})`;
    case 0x7ffc0000: return 'SCMP_ACT_LOG';
    case 0x7fff0000: return 'SCMP_ACT_ALLOW';
    case 0x7fc00000: return 'SCMP_ACT_NOTIFY';
    default: return `0x${ret.toString(16)}`;
  }
}

export function programText(profile: SeccompProfile): string {
  const f = compileSeccomp(profile);
  return `${disassemble(f.instructions)}\n(${f.instructions.length} instructions, flags ${f.flags})\n`;
}

/** `mkdir (x86_64 83): SCMP_ACT_ERRNO(13)` for a syscall name (or number) and up to six arguments. */
export function decision(profile: SeccompProfile, archName: string | undefined, syscall: string, args: string[]): string {
  const key = archName ? `SCMP_ARCH_${archName.toUpperCase()}` : NATIVE_ARCH;
  const arch = key ? ARCHES[key] : undefined;
  if (!arch) throw new OcirunError(`unknown architecture ${archName}`);
  const nr = /^\d+$/.test(syscall) ? Number(syscall) : syscallTable(arch.arch)[syscall];
  if (nr === undefined) throw new OcirunError(`${syscall}: no such syscall on ${arch.arch}`);
  const f = compileSeccomp(profile);
  const ret = run(f.instructions, { nr, arch: arch.token, args: args.map((a) => BigInt(a)) });
  return `${syscall} (${arch.arch} ${nr}): ${actionName(ret)}\n`;
}
