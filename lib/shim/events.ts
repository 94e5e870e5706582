// Task events to containerd: each goes, in the order it happened, through containerd's ttrpc events service
// (Events/Forward at TTRPC_ADDRESS) in an envelope with its namespace, topic and time. A connection that
// broke (containerd restarted) is made again and the event sent once more; what still fails is reported.
import { Client } from './ttrpc';
import { any, encode, timestamp, type Message } from './proto';

/** Topic of each event containerd knows from a shim. */
export const TOPIC = {
  'containerd.events.TaskCreate': '/tasks/create',
  'containerd.events.TaskStart': '/tasks/start',
  'containerd.events.TaskExit': '/tasks/exit',
  'containerd.events.TaskDelete': '/tasks/delete',
  'containerd.events.TaskExecAdded': '/tasks/exec-added',
  'containerd.events.TaskExecStarted': '/tasks/exec-started',
  'containerd.events.TaskOOM': '/tasks/oom',
  'containerd.events.TaskPaused': '/tasks/paused',
  'containerd.events.TaskResumed': '/tasks/resumed',
} as const;
export type EventName = keyof typeof TOPIC;

const FORWARD_TIMEOUT_MS = 5000;

export class Publisher {
  private client: Promise<Client> | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly address: string,
    private readonly namespace: string,
    private readonly onError: (msg: string) => void,
  ) {}

  /** Queues one event; resolves once it is forwarded (or its failure reported). */
  publish(name: EventName, event: Message): Promise<void> {
    const envelope = { timestamp: timestamp(new Date()), namespace: this.namespace, topic: TOPIC[name], event: any(name, event) };
    const once = () => this.forward(envelope).catch((err) => {
      this.drop();
      throw err;
    });
    this.chain = this.chain.then(() => once().catch(once)).catch((err) => this.onError(`publish ${TOPIC[name]}: ${(err as Error).message}`));
    return this.chain;
  }

  private drop(): void {
    const c = this.client;
    this.client = undefined;
    void c?.then((x) => x.close()).catch(() => undefined);
  }

  private async forward(envelope: Message): Promise<void> {
    this.client ??= Client.connect(this.address.replace(/^unix:\/\//, ''));
    const client = await this.client;
    await client.call('containerd.services.events.ttrpc.v1.Events', 'Forward', encode('containerd.services.events.ttrpc.v1.ForwardRequest', { envelope }), FORWARD_TIMEOUT_MS);
  }

  close(): void {
    void this.client?.then((c) => c.close()).catch(() => undefined);
  }
}
