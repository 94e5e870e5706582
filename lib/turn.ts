// Fair turns on the JS thread for a process that runs many containers at once (a daemon, a shim). When many
// operations become ready in one loop iteration (fifty spawns finishing together), each would run its next
// synchronous stretch (state writes, cgroup files, the plan) back to back, and a timer of the caller's would
// wait for all of them. An operation that takes its turn first runs one stretch per loop iteration instead:
// the turns are handed out one per setImmediate, and timers and I/O run in between.
// The first operation to ask in an iteration where no turn was handed out yet has it at once (a CLI command,
// the only operation of its process, does not wait for the loop's first iteration: ~0.5 ms).
const waiting: (() => void)[] = [];
let scheduled = false;
let given = false; // a turn was handed out in this loop iteration

function handOut(): void {
  const next = waiting.shift();
  given = !!next;
  next?.();
  if (waiting.length) setImmediate(handOut);
  else if (given) setImmediate(handOut); // one more iteration, to clear `given` after this stretch
  else scheduled = false;
}

/** Settles at this operation's turn: no other operation's stretch runs before its own next await. */
export function turn(): Promise<void> {
  if (!given && !scheduled) {
    given = true;
    scheduled = true;
    setImmediate(handOut);
    return Promise.resolve();
  }
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
