// A small D-Bus client: what the systemd driver needs and no more. One connection to the system bus (SASL
// EXTERNAL), method calls with their replies, and signals. The wire format (marshalling, alignment, header
// fields) is the D-Bus specification's; values are typed by their signature, 64-bit integers are bigint.
// Asynchronous throughout: nothing here blocks the event loop.
import * as net from 'node:net';

export const SYSTEM_BUS = '/run/dbus/system_bus_socket';

const enum Type {
  Call = 1,
  Return = 2,
  Error = 3,
  Signal = 4,
}

const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8 } as const;
const FIELD_SIG: Record<number, string> = { 1: 'o', 2: 's', 3: 's', 4: 's', 5: 'u', 6: 's', 7: 's', 8: 'g', 9: 'u' };

export interface Message {
  type: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature?: string;
  body: unknown[];
}

/** A value of a variant ("v"): its signature and value. */
export interface Variant {
  sig: string;
  value: unknown;
}

/** The error a method call's reply carries: its D-Bus name and text. */
export class DBusError extends Error {
  constructor(
    readonly dbusName: string,
    text: string,
  ) {
    super(text);
  }
}

const ALIGN: Record<string, number> = { y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, d: 8, h: 4, s: 4, o: 4, g: 1, v: 1, a: 4, '(': 8, '{': 8 };

/** Splits a signature into its complete types: "sa(sv)" -> ["s", "a(sv)"]. */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  let i = 0;
  const one = (): void => {
    const c = sig[i++];
    if (c === 'a') return one();
    if (c === '(' || c === '{') {
      const close = c === '(' ? ')' : '}';
      while (sig[i] !== close) {
        if (i >= sig.length) throw new Error(`bad signature "${sig}"`);
        one();
      }
      i++;
      return;
    }
    if (!c || !(c in ALIGN)) throw new Error(`bad signature "${sig}"`);
  };
  while (i < sig.length) {
    const start = i;
    one();
    out.push(sig.slice(start, i));
  }
  return out;
}

class Writer {
  private buf = Buffer.alloc(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    this.room(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }

  u32At(at: number, v: number): void {
    this.buf.writeUInt32LE(v, at);
  }

  write(sig: string, v: unknown): void {
    const c = sig[0];
    this.align(ALIGN[c]);
    this.room(8);
    switch (c) {
      case 'y': this.buf.writeUInt8(Number(v), this.length); this.length += 1; return;
      case 'b': this.buf.writeUInt32LE(v ? 1 : 0, this.length); this.length += 4; return;
      case 'n': this.buf.writeInt16LE(Number(v), this.length); this.length += 2; return;
      case 'q': this.buf.writeUInt16LE(Number(v), this.length); this.length += 2; return;
      case 'i': case 'h': this.buf.writeInt32LE(Number(v), this.length); this.length += 4; return;
      case 'u': this.buf.writeUInt32LE(Number(v), this.length); this.length += 4; return;
      case 'x': this.buf.writeBigInt64LE(BigInt(v as bigint), this.length); this.length += 8; return;
      case 't': this.buf.writeBigUInt64LE(BigInt(v as bigint), this.length); this.length += 8; return;
      case 'd': this.buf.writeDoubleLE(Number(v), this.length); this.length += 8; return;
      case 's': case 'o': {
        const b = Buffer.from(String(v), 'utf8');
        this.buf.writeUInt32LE(b.length, this.length);
        this.length += 4;
        this.bytes(Buffer.concat([b, Buffer.alloc(1)]));
        return;
      }
      case 'g': {
        const b = Buffer.from(String(v), 'ascii');
        this.buf.writeUInt8(b.length, this.length);
        this.length += 1;
        this.bytes(Buffer.concat([b, Buffer.alloc(1)]));
        return;
      }
      case 'v': {
        const val = v as Variant;
        this.write('g', val.sig);
        this.write(val.sig, val.value);
        return;
      }
      case 'a': {
        const elem = sig.slice(1);
        const at = this.length;
        this.buf.writeUInt32LE(0, at);
        this.length += 4;
        this.align(ALIGN[elem[0]]); // the padding to the first element is not part of the length
        const start = this.length;
        if (elem === 'y') this.bytes(Buffer.from(v as Uint8Array));
        else for (const item of v as unknown[]) this.write(elem, item);
        this.u32At(at, this.length - start);
        return;
      }
      case '(': case '{': {
        const parts = splitSignature(sig.slice(1, -1));
        const items = v as unknown[];
        parts.forEach((p, i) => this.write(p, items[i]));
        return;
      }
      default:
        throw new Error(`cannot marshal "${sig}"`);
    }
  }

  take(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

class Reader {
  at = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly le: boolean,
    private readonly base = 0, // alignment counts from the message's start
  ) {}

  private align(n: number): void {
    this.at += (n - ((this.at - this.base) % n)) % n;
  }

  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new Error('truncated D-Bus message');
  }

  private u32(): number {
    this.need(4);
    const v = this.le ? this.buf.readUInt32LE(this.at) : this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }

  read(sig: string): unknown {
    const c = sig[0];
    this.align(ALIGN[c]);
    const b = this.buf;
    const le = this.le;
    const take = <T>(n: number, f: () => T): T => {
      this.need(n);
      const v = f();
      this.at += n;
      return v;
    };
    switch (c) {
      case 'y': return take(1, () => b.readUInt8(this.at));
      case 'b': return this.u32() !== 0;
      case 'n': return take(2, () => (le ? b.readInt16LE(this.at) : b.readInt16BE(this.at)));
      case 'q': return take(2, () => (le ? b.readUInt16LE(this.at) : b.readUInt16BE(this.at)));
      case 'i': case 'h': return take(4, () => (le ? b.readInt32LE(this.at) : b.readInt32BE(this.at)));
      case 'u': return this.u32();
      case 'x': return take(8, () => (le ? b.readBigInt64LE(this.at) : b.readBigInt64BE(this.at)));
      case 't': return take(8, () => (le ? b.readBigUInt64LE(this.at) : b.readBigUInt64BE(this.at)));
      case 'd': return take(8, () => (le ? b.readDoubleLE(this.at) : b.readDoubleBE(this.at)));
      case 's': case 'o': {
        const n = this.u32();
        return take(n + 1, () => b.toString('utf8', this.at, this.at + n));
      }
      case 'g': {
        const n = take(1, () => b.readUInt8(this.at));
        return take(n + 1, () => b.toString('ascii', this.at, this.at + n));
      }
      case 'v': {
        const s = this.read('g') as string;
        return { sig: s, value: this.read(s) } as Variant;
      }
      case 'a': {
        const n = this.u32();
        const elem = sig.slice(1);
        this.align(ALIGN[elem[0]]);
        const end = this.at + n;
        this.need(n);
        if (elem === 'y') return take(n, () => Buffer.from(b.subarray(this.at, this.at + n)));
        const out: unknown[] = [];
        while (this.at < end) out.push(this.read(elem));
        return out;
      }
      case '(': case '{':
        return splitSignature(sig.slice(1, -1)).map((p) => this.read(p));
      default:
        throw new Error(`cannot unmarshal "${sig}"`);
    }
  }
}

function encode(m: Omit<Message, 'serial'>, serial: number): Buffer {
  const body = new Writer();
  const sig = m.signature ?? '';
  const parts = splitSignature(sig);
  parts.forEach((p, i) => body.write(p, m.body[i]));
  const fields: [number, Variant][] = [];
  for (const [name, code] of Object.entries(FIELD)) {
    const v = m[name as keyof typeof FIELD];
    if (v !== undefined && !(name === 'signature' && v === '')) fields.push([code, { sig: FIELD_SIG[code], value: v }]);
  }
  const h = new Writer();
  h.write('y', 'l'.charCodeAt(0));
  h.write('y', m.type);
  h.write('y', 0);
  h.write('y', 1);
  h.write('u', body.length);
  h.write('u', serial);
  h.write('a(yv)', fields);
  h.align(8);
  return Buffer.concat([h.take(), body.take()]);
}

/** One whole message at the start of `buf`, or undefined until more has arrived. */
function decode(buf: Buffer): { message: Message; size: number } | undefined {
  if (buf.length < 16) return undefined;
  const le = buf[0] === 'l'.charCodeAt(0);
  if (!le && buf[0] !== 'B'.charCodeAt(0)) throw new Error('bad D-Bus message: unknown byte order');
  const bodyLen = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const fieldsLen = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  const headerEnd = 16 + fieldsLen + ((8 - (fieldsLen % 8)) % 8);
  const size = headerEnd + bodyLen;
  if (buf.length < size) return undefined;
  const r = new Reader(buf.subarray(0, size), le);
  r.at = 4;
  r.read('u');
  const serial = r.read('u') as number;
  const fields = r.read('a(yv)') as [number, Variant][];
  const message: Message = { type: buf[1], serial, body: [] };
  const names = Object.fromEntries(Object.entries(FIELD).map(([k, v]) => [v, k]));
  for (const [code, v] of fields) if (names[code]) (message as unknown as Record<string, unknown>)[names[code]] = v.value;
  const body = new Reader(buf.subarray(0, size), le, headerEnd);
  body.at = headerEnd;
  message.body = splitSignature(message.signature ?? '').map((p) => body.read(p));
  return { message, size };
}

export interface Call {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

/** The SASL exchange's lines from the bus, one at a time. */
function saslLines(socket: net.Socket): { next(): Promise<string>; end(): void } {
  let text = '';
  let failure: Error | undefined;
  let waiting: { resolve: (line: string) => void; reject: (e: Error) => void } | undefined;
  const pump = () => {
    if (!waiting) return;
    const at = text.indexOf('\r\n');
    if (at >= 0) {
      const line = text.slice(0, at);
      text = text.slice(at + 2);
      const w = waiting;
      waiting = undefined;
      w.resolve(line);
    } else if (failure) {
      const w = waiting;
      waiting = undefined;
      w.reject(failure);
    }
  };
  const onData = (d: Buffer) => ((text += d.toString('latin1')), pump());
  const onError = (err: Error) => ((failure ??= err), pump());
  const onClose = () => onError(new Error('the bus closed the connection during authentication'));
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
  return {
    next: () => new Promise((resolve, reject) => ((waiting = { resolve, reject }), pump())),
    end: () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    },
  };
}

/** A connection to a message bus. */
export class Connection {
  private serial = 0;
  private pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private input: Buffer = Buffer.alloc(0);
  private failure: Error | undefined;
  private signalHandlers: ((m: Message) => void)[] = [];

  private constructor(private readonly socket: net.Socket) {}

  /** Connects and authenticates (SASL EXTERNAL, with the socket's credentials), then says Hello. */
  static async open(socketPath = SYSTEM_BUS): Promise<Connection> {
    const socket = net.createConnection(socketPath);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.removeAllListeners('error');
    // SASL EXTERNAL without an identity: the bus takes the one the kernel gives for the socket (SO_PEERCRED),
    // which is right in a user namespace too, where this process's uid is not the bus's.
    const lines = saslLines(socket);
    try {
      socket.write('\0AUTH EXTERNAL\r\n');
      let answer = await lines.next();
      if (answer === 'DATA') {
        socket.write('DATA\r\n');
        answer = await lines.next();
      }
      if (!answer.startsWith('OK ')) throw new Error(`the bus refused authentication: ${answer}`);
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      lines.end();
    }
    socket.write('BEGIN\r\n');
    const c = new Connection(socket);
    socket.on('data', (d: Buffer) => c.receive(d));
    socket.on('error', (err) => c.fail(err));
    socket.on('close', () => c.fail(new Error('the bus closed the connection')));
    try {
      await c.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' });
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  private receive(data: Buffer): void {
    this.input = this.input.length ? Buffer.concat([this.input, data]) : data;
    for (;;) {
      let got;
      try {
        got = decode(this.input);
      } catch (err) {
        this.fail(err as Error);
        this.socket.destroy();
        return;
      }
      if (!got) return;
      this.input = this.input.subarray(got.size);
      const m = got.message;
      if (m.type === Type.Signal) for (const h of this.signalHandlers) h(m);
      else if ((m.type === Type.Return || m.type === Type.Error) && m.replySerial !== undefined) {
        const p = this.pending.get(m.replySerial);
        if (!p) continue;
        this.pending.delete(m.replySerial);
        if (m.type === Type.Return) p.resolve(m);
        else p.reject(new DBusError(m.errorName ?? 'org.freedesktop.DBus.Error.Failed', typeof m.body[0] === 'string' ? m.body[0] : ''));
      }
    }
  }

  onSignal(handler: (m: Message) => void): void {
    this.signalHandlers.push(handler);
  }

  /** A method call; resolves with the reply's body, rejects with a DBusError. */
  async call(c: Call): Promise<unknown[]> {
    if (this.failure) throw this.failure;
    const serial = ++this.serial;
    const bytes = encode({ type: Type.Call, ...c, body: c.body ?? [] }, serial);
    const reply = new Promise<Message>((resolve, reject) => this.pending.set(serial, { resolve, reject }));
    this.socket.write(bytes);
    return (await reply).body;
  }

  close(): void {
    this.failure ??= new Error('connection closed');
    this.socket.destroy();
  }
}

/** For tests: one message's bytes, and back. */
export const wire = { encode: (m: Omit<Message, 'serial'>, serial: number) => encode(m, serial), decode };
