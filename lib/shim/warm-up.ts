// Build time only (scripts/prepare-start.js): the shim's code paths run once, without making a container, so
// that the V8 code cache made right after holds their compiled code (see lib/warm-up.ts): before this, a
// shim's first Create compiled most of the runtime (~40 ms of its ~55).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { destroy } from '../lifecycle/delete';
import { attempt, warmPlanAndState } from '../warm-up';
import { Publisher } from './events';
import { decode, encode, messageTypes } from './proto';
import { TaskService } from './task';
import { Client, Server } from './ttrpc';

export async function warmUp(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-shim-warm-up-'));
  const root = path.join(dir, 'state');
  try {
    await warmPlanAndState(dir, root);
    // Every message of proto/shim.proto through protobufjs, both ways.
    await attempt(() => {
      for (const name of messageTypes()) encode(name, decode(name, Buffer.alloc(0)));
    });
    // A ttrpc round trip to the task service (framing, dispatch, an answer and an error), and an event that
    // finds no containerd.
    await attempt(async () => {
      const events = new Publisher(`unix://${path.join(dir, 'no-containerd.sock')}`, 'warm-up', () => undefined);
      const service = new TaskService(root, 'warm-up', events, () => undefined, () => undefined);
      const server = new Server(new Map([['containerd.task.v2.Task', service.methods()]]));
      const socket = path.join(dir, 'shim.sock');
      await server.listen(socket);
      const client = await Client.connect(socket);
      const call = (method: string, type: string) =>
        client.call('containerd.task.v2.Task', method, encode(`containerd.task.v2.${type}`, { id: 'warm-up' })).catch(() => undefined);
      await call('Connect', 'ConnectRequest');
      await call('State', 'StateRequest');
      await events.publish('containerd.events.TaskOOM', { container_id: 'warm-up' });
      client.close();
      server.close();
      events.close();
    });
    await attempt(() => destroy('warm-up', { root, force: true }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
