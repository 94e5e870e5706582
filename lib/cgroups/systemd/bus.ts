// systemd's manager over D-Bus (dbus.ts, loaded only by the systemd driver: the cgroupfs path never pays for
// it): the system's on the system bus; a rootless caller's own (systemd --user) on its session bus. Every call is asynchronous; a job (start, stop) is waited for through its JobRemoved signal.
// D-Bus failures come out as SystemError with the error's name and the unit.
import { SystemError } from '../../errors';
import { Connection, DBusError, SYSTEM_BUS } from './dbus';
import type { Property } from './properties';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const JOB_TIMEOUT_MS = 30_000;

export class DBusFailure extends SystemError {
  constructor(
    readonly dbusName: string,
    message: string,
  ) {
    super(message, { step: 'systemd' });
  }
}

/**
 * The rootless caller's session bus, where its systemd --user listens: DBUS_SESSION_BUS_ADDRESS (a unix
 * path), else $XDG_RUNTIME_DIR/bus, as runc and crun find it.
 */
export function userBus(env: NodeJS.ProcessEnv = process.env): string {
  const address = env.DBUS_SESSION_BUS_ADDRESS;
  if (address) {
    for (const one of address.split(';')) {
      const m = /^unix:(?:.*,)?path=([^,]+)/.exec(one);
      if (m) return decodeURIComponent(m[1]);
    }
    throw new SystemError(`systemd: DBUS_SESSION_BUS_ADDRESS "${address}" names no unix socket path (rootless --systemd-cgroup needs the user's bus)`, { step: 'systemd' });
  }
  if (env.XDG_RUNTIME_DIR) return `${env.XDG_RUNTIME_DIR}/bus`;
  throw new SystemError('systemd: rootless --systemd-cgroup needs the user\'s bus: neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set', { step: 'systemd' });
}

/** A rootless caller's own systemd: its bus, and its cgroup (which its slices are below). */
export async function userManager(): Promise<{ bus: string; cgroup: string }> {
  const socket = userBus();
  const sd = await Systemd.connect(socket);
  try {
    return { bus: socket, cgroup: await sd.controlGroup() };
  } finally {
    sd.close();
  }
}

/** One connection to systemd for a command's work; close() ends it. */
export class Systemd {
  private readonly removed = new Map<string, string>(); // job path -> result, for JobRemoved seen early
  private readonly waiters = new Map<string, (result: string) => void>();

  private constructor(private readonly bus: Connection) {
    bus.onSignal((m) => {
      if (m.interface !== MANAGER || m.member !== 'JobRemoved') return;
      const [, job, , result] = m.body as [number, string, string, string];
      const waiter = this.waiters.get(job);
      if (waiter) waiter(result);
      else this.removed.set(job, result);
    });
  }

  /** Connects and subscribes to the JobRemoved signals (unicast to a job's creator; the match covers a broadcast). */
  static async connect(socket = SYSTEM_BUS): Promise<Systemd> {
    let bus: Connection;
    const which = socket === SYSTEM_BUS ? 'the system bus' : 'the user\'s bus';
    try {
      bus = await Connection.open(socket);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new SystemError(`systemd: cannot reach ${which} at ${socket}: ${e.message}`, { step: 'systemd', code: e.code, path: socket });
    }
    try {
      await bus.call({
        destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch',
        signature: 's', body: [`type='signal',sender='${SYSTEMD}',interface='${MANAGER}',member='JobRemoved'`],
      });
    } catch (err) {
      bus.close();
      throw new SystemError(`systemd: AddMatch on ${which}: ${(err as Error).message}`, { step: 'systemd' });
    }
    return new Systemd(bus);
  }

  close(): void {
    this.bus.close();
  }

  private async call(member: string, signature: string, body: unknown[], unit: string): Promise<unknown[]> {
    try {
      return await this.bus.call({ destination: SYSTEMD, path: '/org/freedesktop/systemd1', interface: MANAGER, member, signature, body });
    } catch (err) {
      const name = err instanceof DBusError ? err.dbusName : 'org.freedesktop.DBus.Error.Disconnected';
      throw new DBusFailure(name, `systemd: ${member} ${unit}: ${name}: ${(err as Error).message}`);
    }
  }

  private waitJob(job: string, unit: string, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (result: string) => {
        clearTimeout(timer);
        this.waiters.delete(job);
        if (result === 'done') resolve();
        else reject(new DBusFailure('org.freedesktop.systemd1.JobFailed', `systemd: ${what} ${unit}: the job ended "${result}"`));
      };
      const timer = setTimeout(() => finish(`still running after ${JOB_TIMEOUT_MS / 1000} s`), JOB_TIMEOUT_MS);
      const early = this.removed.get(job);
      if (early !== undefined) {
        this.removed.delete(job);
        finish(early);
      } else this.waiters.set(job, finish);
    });
  }

  /** StartTransientUnit (mode "replace"), then waits for its job. */
  async startUnit(unit: string, props: Property[]): Promise<void> {
    const [job] = (await this.call('StartTransientUnit', 'ssa(sv)a(sa(sv))', [unit, 'replace', props, []], unit)) as [string];
    await this.waitJob(job, unit, 'start');
  }

  /** StopUnit (mode "replace"), then waits for its job; a unit that is not loaded is stopped already. */
  async stopUnit(unit: string): Promise<void> {
    let job: string;
    try {
      [job] = (await this.call('StopUnit', 'ss', [unit, 'replace'], unit)) as [string];
    } catch (err) {
      if (err instanceof DBusFailure && err.dbusName === 'org.freedesktop.systemd1.NoSuchUnit') return;
      throw err;
    }
    await this.waitJob(job, unit, 'stop');
  }

  /** Forgets a failed unit; one that is not loaded is fine. */
  async resetFailed(unit: string): Promise<void> {
    await this.call('ResetFailedUnit', 's', [unit], unit).catch((err) => {
      if (!(err instanceof DBusFailure && err.dbusName === 'org.freedesktop.systemd1.NoSuchUnit')) throw err;
    });
  }

  /** The manager's own cgroup: "/" for the system's, "/user.slice/user-1000.slice/user@1000.service" for a user's. */
  async controlGroup(): Promise<string> {
    const [v] = (await this.bus
      .call({
        destination: SYSTEMD, path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.DBus.Properties', member: 'Get',
        signature: 'ss', body: [MANAGER, 'ControlGroup'],
      })
      .catch((err) => {
        throw new DBusFailure(err instanceof DBusError ? err.dbusName : 'org.freedesktop.DBus.Error.Disconnected', `systemd: the manager's ControlGroup: ${(err as Error).message}`);
      })) as [unknown];
    const value = (v as { value?: unknown })?.value ?? v;
    if (typeof value !== 'string' || !value.startsWith('/')) throw new DBusFailure('org.freedesktop.DBus.Error.InvalidArgs', `systemd: the manager's ControlGroup is not a cgroup path: ${JSON.stringify(value)}`);
    return value;
  }

  async setProperties(unit: string, props: Property[]): Promise<void> {
    if (props.length) await this.call('SetUnitProperties', 'sba(sv)', [unit, true, props], unit);
  }
}
