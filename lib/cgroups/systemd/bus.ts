// systemd's manager over the system bus (dbus.ts, loaded only by the systemd driver: the cgroupfs path never
// pays for it). Every call is asynchronous; a job (start, stop) is waited for through its JobRemoved signal.
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
  static async connect(): Promise<Systemd> {
    let bus: Connection;
    try {
      bus = await Connection.open();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new SystemError(`systemd: cannot reach the system bus at ${SYSTEM_BUS}: ${e.message}`, { step: 'systemd', code: e.code, path: SYSTEM_BUS });
    }
    try {
      await bus.call({
        destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch',
        signature: 's', body: [`type='signal',sender='${SYSTEMD}',interface='${MANAGER}',member='JobRemoved'`],
      });
    } catch (err) {
      bus.close();
      throw new SystemError(`systemd: AddMatch on the system bus: ${(err as Error).message}`, { step: 'systemd' });
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

  async setProperties(unit: string, props: Property[]): Promise<void> {
    if (props.length) await this.call('SetUnitProperties', 'sba(sv)', [unit, true, props], unit);
  }
}
