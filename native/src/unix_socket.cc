#include "unix_socket.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace ocirun {

int send_fd_to(const std::string& path, const std::string& payload, int fd, SysError& e) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return fail(e, "connect", path.c_str(), ENAMETOOLONG);
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return fail(e, "socket", path.c_str());
  int rc = 0;
  if (connect(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
    rc = fail(e, "connect", path.c_str());
  else if (send_with_fd(sock, payload.data(), payload.size(), fd) != ssize_t(payload.size()))
    rc = fail(e, "sendmsg", path.c_str());
  close(sock);
  return rc;
}

}  // namespace ocirun
