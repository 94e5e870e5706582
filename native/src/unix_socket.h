// Passing fds over AF_UNIX sockets (SCM_RIGHTS): the seccomp notify fd to its listener, and (later) the pty
// master to a console socket.
#pragma once

#include <string.h>
#include <sys/socket.h>

#include "error.h"

namespace ocirun {

// Connects to the AF_UNIX stream socket at `path` and sends `payload` (`len` bytes) with `fd` attached, in one
// message. Plain C types: the init stub includes this header, and it is built without the C++ library.
int send_fd_to(const char* path, const char* payload, size_t len, int fd, SysError& e);

// Sends/receives one message with at most one fd attached (fd -1: none). Inline: the init stub uses them too.
inline ssize_t send_with_fd(int sock, const void* buf, size_t len, int fd) {
  struct iovec iov = {const_cast<void*>(buf), len};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

inline ssize_t recv_with_fd(int sock, void* buf, size_t len, int* fd) {
  struct iovec iov = {buf, len};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  *fd = -1;
  ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(c), sizeof(int));
  return n;
}


}  // namespace ocirun
