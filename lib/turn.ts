// Fair turns on the JS thread for a process that runs many containers at once (a daemon, a shim). When many
// operations become ready in one loop iteration (fifty spawns finishing together), each would run its next
// synchronous stretch (state writes, cgroup files, the plan) back to back, and a timer of the caller's would
// wait for all of them. An operation that takes its turn first runs one stretch per loop iteration instead:
// the turns are handed out one per setImmediate, and timers and I/O run in between.
const waiting: (() => void)[] = [];
let scheduled = false;

function handOut(): void {
  waiting.shift()?.();
  if (waiting.length) setImmediate(handOut);
  else scheduled = false;
}

/** Settles at this operation's turn: no other operation's stretch runs before its own next await. */
export function turn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (!scheduled) {
      scheduled = true;
      setImmediate(handOut);
    }
  });
}

/** `promise`'s outcome, delivered at a turn. */
export async function atTurn<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } finally {
    await turn();
  }
}
