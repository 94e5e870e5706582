// --log FILE / --log-format text|json: one line per event, as runc's logger writes them.
// JSON lines are {"level","msg","time"} (callers read the last `error` line); text lines are logfmt.
import * as fs from 'node:fs';
import { printErr } from './output';
import { utcTimestamp } from '../timestamp';

export interface LogConfig {
  file?: string;
  format: 'text' | 'json';
  debug: boolean;
}

const rfc3339 = () => utcTimestamp(Date.now(), false);

export function logLine(cfg: LogConfig, level: 'error' | 'warning' | 'info' | 'debug', msg: string): void {
  if (level === 'debug' && !cfg.debug) return;
  const line =
    cfg.format === 'json'
      ? JSON.stringify({ level, msg, time: rfc3339() })
      : `time="${rfc3339()}" level=${level} msg=${JSON.stringify(msg)}`;
  if (cfg.file) fs.appendFileSync(cfg.file, line + '\n');
  else if (level !== 'error') printErr(line + '\n');
}
