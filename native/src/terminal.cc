#include "terminal.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "unix_socket.h"

namespace ocirun {

int set_winsize(int fd, unsigned short rows, unsigned short cols, const char* what, SysError& e) {
  struct winsize ws = {rows, cols, 0, 0};
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) return fail(e, "ioctl(TIOCSWINSZ)", what);
  return 0;
}

int open_container_pty(unsigned short rows, unsigned short cols, int* master, int* slave, SysError& e) {
  *master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*master < 0) return fail(e, "open", "/dev/ptmx");
  int unlock = 0;
  int rc = 0;
  *slave = -1;
  if (ioctl(*master, TIOCSPTLCK, &unlock) < 0)
    rc = fail(e, "ioctl(TIOCSPTLCK)", "/dev/ptmx");
  else if ((*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0)
    rc = fail(e, "ioctl(TIOCGPTPEER)", "/dev/ptmx");
  else if (rows || cols)
    rc = set_winsize(*slave, rows, cols, "/dev/ptmx", e);
  if (rc < 0) {
    if (*slave >= 0) close(*slave);
    close(*master);
    *master = *slave = -1;
  }
  return rc;
}

int become_terminal_session(int slave, uid_t uid, gid_t gid, SysError& e) {
  int rc = 0;
  if (fchown(slave, uid, gid) < 0)
    rc = fail(e, "fchown", "pty");
  else if (setsid() < 0)
    rc = fail(e, "setsid", "");
  else if (ioctl(slave, TIOCSCTTY, 0) < 0)
    rc = fail(e, "ioctl(TIOCSCTTY)", "");
  else
    for (int fd = 0; fd < 3 && !rc; fd++)
      if (dup3(slave, fd, 0) < 0) rc = fail(e, "dup3", "pty");
  if (slave > 2) close(slave);
  return rc;
}

int deliver_pty_master(const std::string& console_socket, int master, int* kept, SysError& e) {
  if (console_socket.empty()) {
    *kept = master;  // foreground: the caller proxies it
    return 0;
  }
  static const char kPayload[] = "/dev/ptmx";
  int rc = send_fd_to(console_socket.c_str(), kPayload, sizeof kPayload - 1, master, e);
  close(master);
  if (rc < 0) set_step(e, kStepConsoleSocket);
  return rc;
}

}  // namespace ocirun
