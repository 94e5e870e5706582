// ttrpc, containerd's RPC over a unix socket (its PROTOCOL.md): frames of a 10-byte header (data length and
// stream id, big-endian 32-bit; message type; flags) and a protobuf body. A client opens odd-numbered
// streams with a Request (service, method, payload, timeout); the server ends each with a Response that
// carries a google.rpc.Status. Only unary calls: the task and events services have no streams.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { decode, encode, type Message } from './proto';

const HEADER = 10;
const MAX_DATA = 4 << 20;
const REQUEST = 1;
const RESPONSE = 2;

/** gRPC status codes (google.rpc.Code) the shim answers with. */
export const Code = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14,
} as const;

/** An error with its gRPC code: what a handler throws to answer with that status; what a call rejects with. */
export class RpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

function frame(stream: number, type: number, data: Buffer): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt32BE(data.length, 0);
  header.writeUInt32BE(stream, 4);
  header.writeUInt8(type, 8);
  return Buffer.concat([header, data]);
}

/** Splits a byte stream into frames; a frame over the protocol's 4 MB is an error that ends the connection. */
function frames(socket: net.Socket, onFrame: (stream: number, type: number, data: Buffer) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= HEADER) {
      const length = buf.readUInt32BE(0);
      if (length > MAX_DATA) {
        socket.destroy(new Error(`ttrpc: a frame of ${length} bytes (the limit is ${MAX_DATA})`));
        return;
      }
      if (buf.length < HEADER + length) break;
      const stream = buf.readUInt32BE(4);
      const type = buf.readUInt8(8);
      const data = buf.subarray(HEADER, HEADER + length);
      buf = buf.subarray(HEADER + length);
      onFrame(stream, type, data);
    }
  });
}

export interface CallContext {
  /** When the caller stops waiting (its timeout), in Date.now() terms; undefined: no deadline. */
  deadline?: number;
  metadata: Record<string, string[]>;
}
export type Handler = (payload: Buffer, ctx: CallContext) => Promise<Buffer>;

/** A ttrpc server: `services` maps "package.Service" to its methods. Each call runs on its own. */
export class Server {
  private readonly server: net.Server;
  private readonly connections = new Set<net.Socket>();

  constructor(private readonly services: Map<string, Map<string, Handler>>) {
    this.server = net.createServer((socket) => this.serve(socket));
  }

  /** Listens on a unix socket at `file` (mode 0600: only its owner, containerd's root, may call). */
  listen(file: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(file, () => {
        fs.chmodSync(file, 0o600);
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  close(): void {
    this.server.close();
    for (const c of this.connections) c.destroy();
  }

  private serve(socket: net.Socket): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    frames(socket, (stream, type, data) => {
      if (type !== REQUEST) return; // data frames belong to streams, which no service here has
      void this.answer(data).then((response) => {
        if (!socket.destroyed) socket.write(frame(stream, RESPONSE, encode('ttrpc.Response', response)));
      });
    });
  }

  private async answer(data: Buffer): Promise<Message> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const req = decode('ttrpc.Request', data);
      const methods = this.services.get(req.service);
      if (!methods) throw new RpcError(Code.UNIMPLEMENTED, `service ${req.service} is not served here`);
      const handler = methods.get(req.method);
      if (!handler) throw new RpcError(Code.UNIMPLEMENTED, `method ${req.service}/${req.method} is not implemented`);
      const metadata: Record<string, string[]> = {};
      for (const kv of req.metadata as { key: string; value: string }[]) (metadata[kv.key] ??= []).push(kv.value);
      const timeoutMs = Number(req.timeout_nano) / 1e6;
      const ctx: CallContext = { metadata, ...(timeoutMs > 0 ? { deadline: Date.now() + timeoutMs } : {}) };
      const work = handler(Buffer.from(req.payload), ctx);
      const payload = timeoutMs > 0
        ? await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new RpcError(Code.DEADLINE_EXCEEDED, 'context deadline exceeded')), timeoutMs)))])
        : await work;
      return { status: { code: Code.OK }, payload };
    } catch (err) {
      const code = err instanceof RpcError ? err.code : Code.UNKNOWN;
      return { status: { code, message: (err as Error).message } };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A ttrpc client on one connection; calls may overlap (each is a stream of its own). */
export class Client {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    frames(socket, (stream, type, data) => {
      const p = this.pending.get(stream);
      if (!p || type !== RESPONSE) return;
      this.pending.delete(stream);
      try {
        const res = decode('ttrpc.Response', data);
        if (res.status && res.status.code !== Code.OK) p.reject(new RpcError(res.status.code, res.status.message));
        else p.resolve(Buffer.from(res.payload));
      } catch (err) {
        p.reject(err as Error);
      }
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new RpcError(Code.UNAVAILABLE, 'ttrpc: the connection is closed')));
  }

  static connect(file: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(file);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new Client(socket));
      });
    });
  }

  /**
   * Calls service/method with an encoded request; resolves with the encoded response, or an RpcError. With
   * `timeoutMs`, the server is told the deadline and the call gives up by itself when it passes.
   */
  call(service: string, method: string, payload: Buffer, timeoutMs = 0): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    const stream = this.next;
    this.next += 2;
    const req = { service, method, payload, timeout_nano: Math.round(timeoutMs * 1e6), metadata: [] };
    return new Promise((resolve, reject) => {
      const timer = timeoutMs > 0
        ? setTimeout(() => {
          this.pending.delete(stream);
          reject(new RpcError(Code.DEADLINE_EXCEEDED, `${service}/${method}: no answer in ${timeoutMs} ms`));
        }, timeoutMs)
        : undefined;
      const settle = <T>(f: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        f(v);
      };
      this.pending.set(stream, { resolve: settle(resolve), reject: settle(reject) });
      this.socket.write(frame(stream, REQUEST, encode('ttrpc.Request', req)));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
