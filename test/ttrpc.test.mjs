// The shim's ttrpc (lib/shim/ttrpc.ts), its streams (ttrpc 1.2) between its own server and client, and on the
// wire as containerd's PROTOCOL.md writes it: frames built here byte by byte (a Request flagged `remote open`,
// Data frames, the last flagged `remote closed` and `no data`) and the server's frames read back the same way.
import t from 'tap';
import * as net from 'node:net';
import { fs, os, path, repo } from './helpers.mjs';

const { Server, Client, RpcError } = await import(path.join(repo, 'dist', 'shim', 'ttrpc.js'));
const { encode, decode } = await import(path.join(repo, 'dist', 'shim', 'proto.js'));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-ttrpc-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

// A test service: Chat echoes each message upper-cased and ends with how many it got; Count sends as many
// messages as its request says; Fail fails after one message.
const service = new Map([
  ['Chat', { stream: async (s) => {
    let n = 0;
    for (let m; (m = await s.recv()) !== undefined; n++) s.send(Buffer.from(m.toString().toUpperCase()));
    return Buffer.from(`done:${n}`);
  } }],
  ['Count', { stream: async (s) => {
    const n = Number((await s.recv()).toString());
    for (let i = 1; i <= n; i++) s.send(Buffer.from(String(i)));
    return undefined;
  } }],
  ['Fail', { stream: async (s) => {
    s.send(Buffer.from('one'));
    throw new RpcError(9, 'the test fails it');
  } }],
  ['Unary', async (payload) => Buffer.from(`unary:${payload}`)],
]);
const socket = path.join(dir, 'ttrpc.sock');
const server = new Server(new Map([['test.Streams', service]]));
await server.listen(socket);
t.teardown(() => server.close());

async function drain(stream) {
  const got = [];
  for (let m; (m = await stream.recv()) !== undefined;) got.push(m.toString());
  return got;
}

t.test('both ways: the client sends, the server answers each, then ends the stream with its Response', async (t) => {
  const client = await Client.connect(socket);
  t.teardown(() => client.close());
  const s = client.stream('test.Streams', 'Chat');
  for (const w of ['a', 'bb', 'ccc']) s.send(Buffer.from(w));
  s.closeSend();
  t.same(await drain(s), ['A', 'BB', 'CCC']);
  t.equal((await s.done).toString(), 'done:3');
  t.throws(() => s.send(Buffer.from('late')), /closed for sending/);
});

t.test('from the server: the request\'s payload is its first message; streams and unary calls at once', async (t) => {
  const client = await Client.connect(socket);
  t.teardown(() => client.close());
  const a = client.stream('test.Streams', 'Count', { payload: Buffer.from('3'), sending: false });
  const b = client.stream('test.Streams', 'Count', { payload: Buffer.from('2'), sending: false });
  const unary = client.call('test.Streams', 'Unary', Buffer.from('x'));
  t.same(await Promise.all([drain(a), drain(b)]), [['1', '2', '3'], ['1', '2']]);
  t.equal((await unary).toString(), 'unary:x');
  t.equal((await a.done).length, 0, 'an empty Response ends it');
});

t.test('a failing stream: its Response carries the status', async (t) => {
  const client = await Client.connect(socket);
  t.teardown(() => client.close());
  const s = client.stream('test.Streams', 'Fail', { sending: false });
  t.same(await drain(s), ['one'], 'what came before the failure');
  await t.rejects(s.done, { code: 9, message: 'the test fails it' });
  const none = client.stream('test.Streams', 'NoSuchMethod', { sending: false });
  await t.rejects(none.done, { code: 12 }, 'an unknown method: Unimplemented');
});

t.test('on the wire, frames as PROTOCOL.md gives them', async (t) => {
  const header = (length, stream, type, flags) => {
    const h = Buffer.alloc(10);
    h.writeUInt32BE(length, 0);
    h.writeUInt32BE(stream, 4);
    h[8] = type;
    h[9] = flags;
    return h;
  };
  const req = encode('ttrpc.Request', { service: 'test.Streams', method: 'Chat', payload: Buffer.alloc(0), timeout_nano: 0, metadata: [] });
  const c = net.createConnection(socket);
  t.teardown(() => c.destroy());
  await new Promise((r) => c.once('connect', r));
  let buf = Buffer.alloc(0);
  const frames = [];
  const ended = new Promise((resolve) => c.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 10 && buf.length >= 10 + buf.readUInt32BE(0)) {
      const len = buf.readUInt32BE(0);
      frames.push({ stream: buf.readUInt32BE(4), type: buf[8], flags: buf[9], data: buf.subarray(10, 10 + len) });
      buf = buf.subarray(10 + len);
      if (frames.at(-1).type === 2) resolve();
    }
  }));
  c.write(Buffer.concat([header(req.length, 1, 1, 0x2), req])); // Request, remote open
  c.write(Buffer.concat([header(2, 1, 3, 0), Buffer.from('hi')])); // Data
  c.write(header(0, 1, 3, 0x1 | 0x4)); // Data: remote closed, no data
  await ended;
  t.same(frames.map((f) => [f.stream, f.type, f.flags]), [[1, 3, 0], [1, 2, 0]], 'a Data frame on stream 1, then the Response');
  t.equal(frames[0].data.toString(), 'HI');
  const res = decode('ttrpc.Response', frames[1].data);
  t.equal(res.status?.code ?? 0, 0);
  t.equal(Buffer.from(res.payload).toString(), 'done:1');
});
