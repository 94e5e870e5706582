// ttrpc, containerd's RPC over a unix socket (its PROTOCOL.md): frames of a 10-byte header (data length and
// stream id, big-endian 32-bit; message type; flags) and a protobuf body. A client opens odd-numbered
// streams with a Request (service, method, payload, timeout); the server ends each with a Response that
// carries a google.rpc.Status. Unary calls (the task and events services), and streams (ttrpc 1.2): Data
// frames both ways after a Request flagged `remote open` (the client sends more) or `remote closed` (it does
// not), the last one from a side flagged `remote closed`, the stream ended by the server's Response.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { decode, encode, type Message } from './proto';

const HEADER = 10;
const MAX_DATA = 4 << 20;
const REQUEST = 1;
const RESPONSE = 2;
const DATA = 3;
/** Flags: the sender sends nothing more (Request, Data); it will send Data (Request); this Data frame is empty. */
const REMOTE_CLOSED = 0x1;
const REMOTE_OPEN = 0x2;
const NO_DATA = 0x4;

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

function frame(stream: number, type: number, data: Buffer, flags = 0): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt32BE(data.length, 0);
  header.writeUInt32BE(stream, 4);
  header.writeUInt8(type, 8);
  header.writeUInt8(flags, 9);
  return Buffer.concat([header, data]);
}

/** Splits a byte stream into frames; a frame over the protocol's 4 MB is an error that ends the connection. */
function frames(socket: net.Socket, onFrame: (stream: number, type: number, data: Buffer, flags: number) => void): void {
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
      const flags = buf.readUInt8(9);
      const data = buf.subarray(HEADER, HEADER + length);
      buf = buf.subarray(HEADER + length);
      onFrame(stream, type, data, flags);
    }
  });
}

export interface CallContext {
  /** When the caller stops waiting (its timeout), in Date.now() terms; undefined: no deadline. */
  deadline?: number;
  metadata: Record<string, string[]>;
}
export type Handler = (payload: Buffer, ctx: CallContext) => Promise<Buffer>;

/**
 * The messages of one side of a stream, in order: recv() resolves with the next, or undefined once the other
 * side closed it; it rejects when the stream failed.
 */
class Inbox {
  private readonly queue: Buffer[] = [];
  private readonly waiting: { resolve: (b: Buffer | undefined) => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  private failure: Error | undefined;

  push(data: Buffer): void {
    if (this.closed) return;
    const w = this.waiting.shift();
    if (w) w.resolve(data);
    else this.queue.push(data);
  }

  close(failure?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = failure;
    for (const w of this.waiting.splice(0)) failure ? w.reject(failure) : w.resolve(undefined);
  }

  recv(): Promise<Buffer | undefined> {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closed) return this.failure ? Promise.reject(this.failure) : Promise.resolve(undefined);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }
}

/** The server's side of a stream: the client's messages, and messages to it. */
export interface ServerStream {
  recv(): Promise<Buffer | undefined>;
  send(payload: Buffer): void;
}
/** A streaming method: what it resolves with is the payload of the Response that ends the stream. */
export interface StreamingMethod {
  stream: (s: ServerStream, ctx: CallContext) => Promise<Buffer | undefined>;
}
export type Method = Handler | StreamingMethod;

/** A ttrpc server: `services` maps "package.Service" to its methods. Each call runs on its own. */
export class Server {
  private readonly server: net.Server;
  private readonly connections = new Set<net.Socket>();

  constructor(private readonly services: Map<string, Map<string, Method>>) {
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
    const streams = new Map<number, Inbox>(); // the client's open streams: its Data frames go there
    socket.on('close', () => {
      this.connections.delete(socket);
      for (const inbox of streams.values()) inbox.close(new RpcError(Code.CANCELLED, 'ttrpc: the connection is closed'));
    });
    socket.on('error', () => socket.destroy());
    const write = (stream: number, type: number, data: Buffer, flags = 0) => {
      if (!socket.destroyed) socket.write(frame(stream, type, data, flags));
    };
    frames(socket, (stream, type, data, flags) => {
      if (type === DATA) {
        const inbox = streams.get(stream);
        if (!(flags & NO_DATA)) inbox?.push(Buffer.from(data));
        if (flags & REMOTE_CLOSED) inbox?.close();
        return;
      }
      if (type !== REQUEST) return;
      const inbox = new Inbox();
      if (flags & REMOTE_OPEN) streams.set(stream, inbox);
      else inbox.close(); // unary, or nothing more from the client
      const out: ServerStream = { recv: () => inbox.recv(), send: (payload) => write(stream, DATA, payload) };
      void this.answer(data, inbox, out).then((response) => {
        streams.delete(stream);
        write(stream, RESPONSE, encode('ttrpc.Response', response));
      });
    });
  }

  private async answer(data: Buffer, inbox: Inbox, out: ServerStream): Promise<Message> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const req = decode('ttrpc.Request', data);
      const methods = this.services.get(req.service);
      if (!methods) throw new RpcError(Code.UNIMPLEMENTED, `service ${req.service} is not served here`);
      const method = methods.get(req.method);
      if (!method) throw new RpcError(Code.UNIMPLEMENTED, `method ${req.service}/${req.method} is not implemented`);
      const metadata: Record<string, string[]> = {};
      for (const kv of req.metadata as { key: string; value: string }[]) (metadata[kv.key] ??= []).push(kv.value);
      const timeoutMs = Number(req.timeout_nano) / 1e6;
      const ctx: CallContext = { metadata, ...(timeoutMs > 0 ? { deadline: Date.now() + timeoutMs } : {}) };
      const payload = Buffer.from(req.payload);
      let work: Promise<Buffer | undefined>;
      if (typeof method === 'function') {
        work = method(payload, ctx);
      } else {
        // The request's payload, if any, is the stream's first message.
        const first = payload.length ? [payload] : [];
        work = method.stream({ recv: () => (first.length ? Promise.resolve(first.shift()) : inbox.recv()), send: out.send }, ctx);
      }
      const result = timeoutMs > 0
        ? await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new RpcError(Code.DEADLINE_EXCEEDED, 'context deadline exceeded')), timeoutMs)))])
        : await work;
      return { status: { code: Code.OK }, payload: result ?? Buffer.alloc(0) };
    } catch (err) {
      const code = err instanceof RpcError ? err.code : Code.UNKNOWN;
      return { status: { code, message: (err as Error).message } };
    } finally {
      clearTimeout(timer);
      inbox.close();
    }
  }
}

/** The client's side of a stream: the server's messages, messages to it, and the Response that ends it. */
export interface ClientStream {
  recv(): Promise<Buffer | undefined>;
  send(payload: Buffer): void;
  /** Tells the server that nothing more comes (Data flagged `remote closed`). */
  closeSend(): void;
  /** The final Response's payload, or its error. */
  readonly done: Promise<Buffer>;
}

/** A ttrpc client on one connection; calls may overlap (each is a stream of its own). */
export class Client {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
  private readonly inboxes = new Map<number, Inbox>(); // the server's Data frames of open streams
  private failure: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    frames(socket, (stream, type, data, flags) => {
      const inbox = this.inboxes.get(stream);
      if (type === DATA) {
        if (!(flags & NO_DATA)) inbox?.push(Buffer.from(data));
        if (flags & REMOTE_CLOSED) inbox?.close();
        return;
      }
      const p = this.pending.get(stream);
      if (!p || type !== RESPONSE) return;
      this.pending.delete(stream);
      this.inboxes.delete(stream);
      inbox?.close();
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
      for (const inbox of this.inboxes.values()) inbox.close(this.failure);
      this.inboxes.clear();
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

  /**
   * Opens a stream to service/method: `payload` goes with the Request; `sending` says whether Data frames
   * follow from here (until closeSend).
   */
  stream(service: string, method: string, { payload = Buffer.alloc(0), sending = true } = {}): ClientStream {
    const stream = this.next;
    this.next += 2;
    const inbox = new Inbox();
    const done = this.failure
      ? Promise.reject(this.failure)
      : new Promise<Buffer>((resolve, reject) => this.pending.set(stream, { resolve, reject }));
    done.catch(() => undefined); // also told through recv()
    if (this.failure) {
      inbox.close(this.failure);
    } else {
      this.inboxes.set(stream, inbox);
      const req = { service, method, payload, timeout_nano: 0, metadata: [] };
      this.socket.write(frame(stream, REQUEST, encode('ttrpc.Request', req), sending ? REMOTE_OPEN : REMOTE_CLOSED));
    }
    let open = sending;
    return {
      recv: () => inbox.recv(),
      send: (data) => {
        if (!open) throw new Error(`ttrpc: ${service}/${method}: the stream is closed for sending`);
        this.socket.write(frame(stream, DATA, data));
      },
      closeSend: () => {
        if (open) this.socket.write(frame(stream, DATA, Buffer.alloc(0), REMOTE_CLOSED | NO_DATA));
        open = false;
      },
      done,
    };
  }

  close(): void {
    this.socket.destroy();
  }
}
