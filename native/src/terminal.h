// The container's terminal (process.terminal), every native part of it in one place: the cloned child opens a
// pty in the container's own devpts, makes it its controlling terminal and stdio, and sends the master to the
// runtime; the runtime hands the master to the console socket (or keeps it for the caller to proxy, see
// lib/lifecycle/console.ts); the window size is set on either end. Allocation-free where the child uses it.
#pragma once

#include <sys/types.h>

#include <string>

#include "error.h"

namespace ocirun {

// Child: opens /dev/ptmx (the container's, after pivot_root or after joining its mounts), unlocks it and
// takes the peer without a path (TIOCGPTPEER: no race on /dev/pts/N). Sizes it when rows or cols are set.
int open_container_pty(unsigned short rows, unsigned short cols, int* master, int* slave, SysError& e);

// Child: `slave` owned by the process user; a new session whose controlling terminal it is; it becomes stdin,
// stdout and stderr.
int become_terminal_session(int slave, uid_t uid, gid_t gid, SysError& e);

// Runtime: where the master goes. With a console socket it is sent there (runc's protocol) and closed;
// without, it is kept in *kept for the caller.
int deliver_pty_master(const std::string& console_socket, int master, int* kept, SysError& e);

// TIOCSWINSZ.
int set_winsize(int fd, unsigned short rows, unsigned short cols, const char* what, SysError& e);

}  // namespace ocirun
