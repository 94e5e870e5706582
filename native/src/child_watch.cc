#include "child_watch.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_set>

namespace ocirun {

namespace {
std::unordered_set<pid_t>& owned() {
  static std::unordered_set<pid_t> s;
  return s;
}
}  // namespace

void own_child(pid_t pid) { owned().insert(pid); }
void disown_child(pid_t pid) { owned().erase(pid); }
bool owns_child(pid_t pid) { return owned().count(pid) > 0; }

int PidfdWatch::start(uv_loop_t* loop, int pidfd, bool reap, bool keep_alive, SysError& e) {
  fd_ = pidfd;
  reap_ = reap;
  int rc = uv_poll_init(loop, &poll_, fd_);
  if (rc != 0) {
    close(fd_);
    delete this;
    return fail(e, "uv_poll_init", "pidfd", -rc);
  }
  poll_.data = this;
  if (!keep_alive) uv_unref(reinterpret_cast<uv_handle_t*>(&poll_));
  rc = uv_poll_start(&poll_, UV_READABLE, [](uv_poll_t* h, int, int) {
    auto* w = static_cast<PidfdWatch*>(h->data);
    uv_poll_stop(h);
    int code = 0, sig = 0;
    if (w->reap_) {
      siginfo_t info = {};
      int r;
      while ((r = waitid(idtype_t(P_PIDFD), id_t(w->fd_), &info, WEXITED | WNOHANG)) < 0 && errno == EINTR) {
      }
      if (r == 0 && info.si_pid != 0) {
        code = info.si_code == CLD_EXITED ? info.si_status : -1;
        sig = info.si_code == CLD_EXITED ? 0 : info.si_status;
      } else {
        code = -1;  // reaped by someone else: the status is lost
      }
    }
    w->exited(code, sig);
    uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* h) {
      auto* w = static_cast<PidfdWatch*>(h->data);
      close(w->fd_);
      delete w;
    });
  });
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_), [](uv_handle_t* h) {
      auto* w = static_cast<PidfdWatch*>(h->data);
      close(w->fd_);
      delete w;
    });
    return fail(e, "uv_poll_start", "pidfd", -rc);
  }
  return 0;
}

void PidfdWatch::keep_alive(bool on) {
  auto* h = reinterpret_cast<uv_handle_t*>(&poll_);
  if (on) uv_ref(h);
  else uv_unref(h);
}

}  // namespace ocirun
