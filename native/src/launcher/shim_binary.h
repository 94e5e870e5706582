// containerd's shim binary contract, the actions containerd waits for, done here and not in Node:
//   start   for every container containerd creates; for all but a pod's first it only finds the shim that
//           already serves the pod (one connect), which a Node start would make cost tens of milliseconds
//           (shim_start.cc);
//   delete  after every shim's end, on the path of `ctr run --rm` and of a pod's removal; when the shim left
//           nothing behind (the usual end) it only answers (shim_delete.cc).
// What they cannot do alone (a delete with something to clean up), the other actions (serve, -v) and any
// argument they do not understand are left to the Node side (lib/shim/main.ts).
#pragma once

namespace launcher {

// Runs the action argv[first..] asks for and exits, if it is one of the above and can be done here; returns
// otherwise. `node` and `script` start the shim's server; `env` is the environment it gets.
void shim_action_if_here(int argc, char** argv, int first, const char* node, const char* script, char** env);

}  // namespace launcher
