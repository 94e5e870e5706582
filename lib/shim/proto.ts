// Protobuf for the shim: the message definitions of proto/shim.proto, encoded and decoded by protobufjs.
// The build parses the .proto into a JSON descriptor (scripts/bundle.js: dist/shim-proto.json), so that the
// shim loads protobufjs's light build, without its parser. Messages are plain objects with the .proto's
// field names (snake_case); 64-bit integers come out as numbers, enums as their numbers, absent fields as
// their defaults (proto3).
import * as protobuf from 'protobufjs/light';

let root: protobuf.Root | undefined;

function load(): protobuf.Root {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  root ??= protobuf.Root.fromJSON(require('../shim-proto.json') as protobuf.INamespace);
  return root;
}

const types = new Map<string, protobuf.Type>();
function type(name: string): protobuf.Type {
  let t = types.get(name);
  if (!t) types.set(name, (t = load().lookupType(name)));
  return t;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Message = Record<string, any>;

export function encode(name: string, value: Message): Buffer {
  const t = type(name);
  return Buffer.from(t.encode(t.fromObject(value)).finish());
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
