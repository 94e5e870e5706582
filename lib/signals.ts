// Signal names and numbers as callers pass them: `15`, `TERM`, `SIGTERM` (any case).
import * as os from 'node:os';
import { OcirunError } from './errors';

const byNumber = new Map<number, string>();
for (const [name, n] of Object.entries(os.constants.signals)) if (!byNumber.has(n)) byNumber.set(n, name);

export function parseSignal(raw: string): number {
  const s = raw.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 0 && n <= 64) return n; // 0: only whether the container's process is there (kill(2)'s check)
  } else {
    const upper = s.toUpperCase();
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    const n = (os.constants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
    const rt = /^SIGRTMIN(?:\+(\d+))?$|^SIGRTMAX(?:-(\d+))?$/.exec(name);
    if (rt) return rt[0].startsWith('SIGRTMIN') ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[2] ?? 0);
  }
  throw new OcirunError(`invalid signal: ${raw}`);
}

export const signalName = (n: number) => byNumber.get(n) ?? String(n);
