// A minimal CRI client (the Kubernetes runtime.v1 gRPC API), enough to run a pod the way the kubelet does:
// gRPC over HTTP/2 on a unix socket, with protobuf messages written as { fieldNumber: value } objects.
// (crictl is not in Debian; this stands in for it.)
import * as http2 from 'node:http2';
import * as net from 'node:net';

// --- protobuf: strings, bytes, nested messages, varints, repeated fields ---
function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}

/** { 1: 'text', 2: { nested }, 3: ['repeated'], 4: 7 } -> protobuf bytes. */
export function encode(msg) {
  const parts = [];
  for (const [key, value] of Object.entries(msg)) {
    const field = Number(key);
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === undefined || v === null) continue;
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') {
        parts.push(varint(field << 3), varint(typeof v === 'boolean' ? Number(v) : v));
      } else {
        const bytes = typeof v === 'string' ? Buffer.from(v) : Buffer.isBuffer(v) ? v : encode(v);
        parts.push(varint((field << 3) | 2), varint(bytes.length), bytes);
      }
    }
  }
  return Buffer.concat(parts);
}

/** protobuf bytes -> { fieldNumber: [values] } (varints as numbers, length-delimited as Buffers). */
export function decode(buf) {
  const out = {};
  let i = 0;
  const readVarint = () => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (i < buf.length) {
    const tag = Number(readVarint());
    const field = tag >> 3;
    let value;
    if ((tag & 7) === 0) value = Number(readVarint());
    else if ((tag & 7) === 2) {
      const len = Number(readVarint());
      value = buf.subarray(i, i + len);
      i += len;
    } else if ((tag & 7) === 1) (value = buf.readBigUInt64LE(i)), (i += 8);
    else if ((tag & 7) === 5) (value = buf.readUInt32LE(i)), (i += 4);
    else throw new Error(`protobuf: wire type ${tag & 7}`);
    (out[field] ??= []).push(value);
  }
  return out;
}

export const str = (m, field) => m[field]?.[0]?.toString() ?? '';

// --- gRPC ---
export class CriClient {
  constructor(socketPath) {
    this.session = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
    this.session.on('error', () => {});
  }

  /** One unary call; resolves with the decoded response, rejects with the gRPC status and message. */
  call(service, method, request) {
    return new Promise((resolve, reject) => {
      const req = this.session.request({
        ':method': 'POST',
        ':path': `/runtime.v1.${service}/${method}`,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const chunks = [];
      let status;
      let message = '';
      const take = (h) => {
        if (h['grpc-status'] !== undefined) {
          status = h['grpc-status'];
          message = decodeURIComponent(h['grpc-message'] ?? '');
        }
      };
      req.on('response', take);
      req.on('trailers', take);
      req.on('data', (c) => chunks.push(c));
      req.on('error', reject);
      req.on('end', () => {
        if (status !== '0') return reject(new Error(`${method}: grpc-status ${status}: ${message}`));
        const body = Buffer.concat(chunks);
        resolve(decode(body.subarray(5, 5 + body.readUInt32BE(1))));
      });
      const payload = encode(request);
      const frame = Buffer.alloc(5);
      frame.writeUInt32BE(payload.length, 1);
      req.end(Buffer.concat([frame, payload]));
    });
  }

  runtime(method, request = {}) {
    return this.call('RuntimeService', method, request);
  }

  close() {
    this.session.close();
  }
}
