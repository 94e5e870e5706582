// Protobuf for the shim: the message definitions of proto/shim.proto, encoded and decoded by protobufjs's
// static code, which the build generates (scripts/bundle.js: dist/shim-proto.js, on protobufjs/minimal).
// Messages are plain objects with the .proto's field names (snake_case); 64-bit integers come out as numbers,
// enums as their numbers, absent fields as their defaults (proto3).

/** A message type of the generated code. */
interface MessageType {
  encode(message: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
  fromObject(value: Message): unknown;
  toObject(message: unknown, options: object): Message;
}

// eslint-disable-next-line @typescript-eslint/no-var-requires
const generated = require('../shim-proto.js') as Record<string, unknown>;
const types = new Map<string, MessageType>();
function type(name: string): MessageType {
  let t = types.get(name);
  if (!t) {
    t = name.split('.').reduce<unknown>((ns, part) => (ns as Record<string, unknown> | undefined)?.[part], generated) as MessageType | undefined;
    if (typeof t?.encode !== 'function') throw new Error(`protobuf: no message type ${name}`);
    types.set(name, t);
  }
  return t;
}

/** The full names of every message type (the build's warm-up runs each), from the build's descriptor. */
export function messageTypes(): string[] {
  interface Node { nested?: Record<string, Node>; fields?: object }
  const out: string[] = [];
  const walk = (node: Node, prefix: string) => {
    for (const [name, child] of Object.entries(node.nested ?? {})) {
      if (child.fields) out.push(prefix + name);
      walk(child, `${prefix}${name}.`);
    }
  };
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  walk(require('../shim-proto.json') as Node, '');
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Message = Record<string, any>;

export function encode(name: string, value: Message): Buffer {
  const t = type(name);
  const bytes = t.encode(t.fromObject(value)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decode(name: string, bytes: Uint8Array): Message {
  const t = type(name);
  return t.toObject(t.decode(bytes), { defaults: true, longs: Number, enums: Number, bytes: Buffer, arrays: true });
}

/** A google.protobuf.Any holding `value` as the message `name` (containerd's type URLs are the bare names). */
export function any(name: string, value: Message): Message {
  return { type_url: name, value: encode(name, value) };
}

/** google.protobuf.Timestamp of a Date. */
export function timestamp(d: Date): Message {
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
