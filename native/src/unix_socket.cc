#include "unix_socket.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace ocirun {

int send_fd_to(const char* path, const char* payload, size_t len, int fd, SysError& e) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  size_t path_len = strlen(path);
  if (path_len >= sizeof addr.sun_path) return fail(e, "connect", path, ENAMETOOLONG);
  memcpy(addr.sun_path, path, path_len + 1);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return fail(e, "socket", path);
  int rc = 0;
  if (connect(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
    rc = fail(e, "connect", path);
  else if (send_with_fd(sock, payload, len, fd) != ssize_t(len))
    rc = fail(e, "sendmsg", path);
  close(sock);
  return rc;
}

}  // namespace ocirun
