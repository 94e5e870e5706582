// `containerd-shim-ocirun-v2 start`, done here and not in Node: containerd runs it for every container it
// creates, and for all but a pod's first it only finds the shim that already serves the pod (one connect),
// which a Node start would make cost tens of milliseconds. It
//   - names the socket of the shim serving this container's group: /run/containerd/s/<sha256 of
//     "ocirun/<address>/<namespace>/<group>">, the group being the pod (the CRI sandbox annotation of the
//     bundle's config.json; a container outside any pod is its own), or the whole namespace with
//     OCIRUN_SHIM_GROUP=namespace in containerd's environment;
//   - if no shim answers there, starts one (Node, `serve`: detached in its own session, listening on that
//     socket), under a flock of the socket directory so that two starts for one pod make one shim;
//   - writes the address to the bundle's `address` file and prints it.
// Any other action (delete, serve, -v) and any argument it does not understand is left to the Node side.
#pragma once

namespace launcher {

// Runs `start` and exits if that is what argv[first..] asks (Go's flag syntax, as containerd writes it);
// returns otherwise. `node` and `script` start the shim's server; `env` is the environment it gets.
void shim_start_if_asked(int argc, char** argv, int first, const char* node, const char* script, char** env);

}  // namespace launcher
