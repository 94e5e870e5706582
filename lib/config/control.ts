// The init stub's control message (native/src/control.h has the format and the meaning of each tag): typed
// records written here, parsed strictly by the stub. The tags must be the header's (contract.test.mjs).
import { ConfigError } from '../errors';

export const enum Ctl {
  Arg = 1,
  Uid = 2,
  Gid = 3,
  Group = 4,
  Caps = 5,
  NoNewPrivs = 6,
  Umask = 7,
  Rlimit = 8,
  Ioprio = 9,
  Sched = 10,
  CpusInitial = 11,
  CpusFinal = 12,
  Personality = 13,
  Apparmor = 14,
  Selinux = 15,
  Seccomp = 16,
  SeccompFlags = 17,
  Hook = 18,
  HookArg = 19,
  HookEnv = 20,
  HookState = 21,
  PreserveFds = 22,
  Fifo = 23,
  MemoryPolicy = 24,
}

/** uint64 from JSON: values past 2^53 (RLIM_INFINITY) arrive rounded; they saturate at 2^64-1. */
const U64_MAX = (1n << 64n) - 1n;
const u64 = (n: number | bigint) => {
  const v = typeof n === 'bigint' ? n : BigInt(Math.trunc(n));
  return v < 0n ? BigInt.asUintN(64, v) : v > U64_MAX ? U64_MAX : v;
};

export class ControlMessage {
  private parts: Buffer[] = [];

  private record(tag: Ctl, payload: Buffer): this {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(tag, 0);
    head.writeUInt32LE(payload.length, 4);
    this.parts.push(head, payload);
    return this;
  }

  flag(tag: Ctl): this {
    return this.record(tag, Buffer.alloc(0));
  }

  /** Unsigned 32-bit numbers, one after the other. */
  u32(tag: Ctl, ...values: number[]): this {
    const b = Buffer.alloc(4 * values.length);
    values.forEach((v, i) => b.writeUInt32LE(v >>> 0, 4 * i));
    return this.record(tag, b);
  }

  u64(tag: Ctl, ...values: (number | bigint)[]): this {
    const b = Buffer.alloc(8 * values.length);
    values.forEach((v, i) => b.writeBigUInt64LE(u64(v), 8 * i));
    return this.record(tag, b);
  }

  /** u32 resource, u64 soft, u64 hard. */
  rlimit(resource: number, soft: number, hard: number): this {
    const b = Buffer.alloc(20);
    b.writeUInt32LE(resource, 0);
    b.writeBigUInt64LE(u64(soft), 4);
    b.writeBigUInt64LE(u64(hard), 12);
    return this.record(Ctl.Rlimit, b);
  }

  /** A string with its NUL; `where` names the config field when the string holds a NUL of its own. */
  str(tag: Ctl, s: string, where: string, prefix?: Buffer): this {
    if (s.includes('\0')) throw new ConfigError(where, 'must not contain a NUL byte');
    return this.record(tag, Buffer.concat([prefix ?? Buffer.alloc(0), Buffer.from(`${s}\0`)]));
  }

  bytes(tag: Ctl, b: Buffer): this {
    return this.record(tag, b);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}
