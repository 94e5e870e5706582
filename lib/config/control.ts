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

/**
 * Written into one buffer as it goes (a control message is a few hundred bytes; a seccomp filter makes it grow):
 * a Buffer per record and a concat at the end cost a create more than the message itself (20-fold in the
 * emulated guest).
 */
export class ControlMessage {
  private buf = Buffer.allocUnsafe(1024);
  private len = 0;

  /** A record's header; its `size` bytes of payload are the caller's to write, at the offset returned. */
  private record(tag: Ctl, size: number): number {
    if (this.len + 8 + size > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.len + 8 + size));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    this.buf.writeUInt32LE(tag, this.len);
    this.buf.writeUInt32LE(size, this.len + 4);
    const at = this.len + 8;
    this.len = at + size;
    return at;
  }

  flag(tag: Ctl): this {
    this.record(tag, 0);
    return this;
  }

  /** Unsigned 32-bit numbers, one after the other. */
  u32(tag: Ctl, ...values: number[]): this {
    let at = this.record(tag, 4 * values.length);
    for (const v of values) at = this.buf.writeUInt32LE(v >>> 0, at);
    return this;
  }

  u64(tag: Ctl, ...values: (number | bigint)[]): this {
    let at = this.record(tag, 8 * values.length);
    for (const v of values) at = this.buf.writeBigUInt64LE(u64(v), at);
    return this;
  }

  /** u32 resource, u64 soft, u64 hard. */
  rlimit(resource: number, soft: number, hard: number): this {
    const at = this.record(Ctl.Rlimit, 20);
    this.buf.writeUInt32LE(resource, at);
    this.buf.writeBigUInt64LE(u64(soft), at + 4);
    this.buf.writeBigUInt64LE(u64(hard), at + 12);
    return this;
  }

  /** A string with its NUL; `where` names the config field when the string holds a NUL of its own. */
  str(tag: Ctl, s: string, where: string, prefix?: Buffer): this {
    if (s.includes('\0')) throw new ConfigError(where, 'must not contain a NUL byte');
    const head = prefix?.length ?? 0;
    const size = Buffer.byteLength(s);
    const at = this.record(tag, head + size + 1);
    if (prefix) prefix.copy(this.buf, at);
    this.buf.write(s, at + head);
    this.buf[at + head + size] = 0;
    return this;
  }

  bytes(tag: Ctl, b: Buffer): this {
    const at = this.record(tag, b.length); // first: it may grow the buffer
    b.copy(this.buf, at);
    return this;
  }

  toBuffer(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}
