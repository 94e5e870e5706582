#include "oom_watch.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "fmt.h"

namespace ocirun {

namespace {

// The registration: "<eventfd> <fd of memory.oom_control>" written into cgroup.event_control. The kernel
// keeps its own reference to what it needs; both files are closed again here.
int register_eventfd(const std::string& dir, int efd, SysError& e) {
  std::string control = dir + "/memory.oom_control";
  std::string events = dir + "/cgroup.event_control";
  int ofd = open(control.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (ofd < 0) return fail(e, "open", control.c_str());
  int cfd = open(events.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (cfd < 0) {
    fail(e, "open", events.c_str());
    close(ofd);
    return -1;
  }
  char line[32];
  size_t n = append_uint(line, 0, sizeof line, (unsigned long)efd);
  n = append_str(line, n, sizeof line, " ");
  n = append_uint(line, n, sizeof line, (unsigned long)ofd);
  int rc = 0;
  if (write(cfd, line, n) != ssize_t(n)) rc = fail(e, "write", events.c_str());
  close(cfd);
  close(ofd);
  return rc;
}

}  // namespace

int OomWatch::start(uv_loop_t* loop, const std::string& memory_dir, SysError& e) {
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) {
    delete this;
    return fail(e, "eventfd", memory_dir.c_str());
  }
  int rc = 0;
  if (register_eventfd(memory_dir, efd, e) < 0 || (rc = uv_poll_init(loop, &poll_, efd)) != 0) {
    if (rc != 0) fail(e, "uv_poll_init", memory_dir.c_str(), -rc);
    close(efd);
    delete this;
    return -1;
  }
  fd_ = efd;
  poll_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&poll_));
  rc = uv_poll_start(&poll_, UV_READABLE, [](uv_poll_t* h, int status, int) {
    if (status < 0) {  // the fd went bad: nothing more will come; the handle waits for stop()
      uv_poll_stop(h);
      return;
    }
    auto* w = static_cast<OomWatch*>(h->data);
    uint64_t count;
    while (read(w->fd_, &count, sizeof count) > 0) {
    }
    w->signalled();
  });
  if (rc != 0) {
    fail(e, "uv_poll_start", memory_dir.c_str(), -rc);
    stop();  // the handle is initialised: libuv closes it, then the watch is deleted
    return -1;
  }
  return 0;
}

void OomWatch::stop() {
  uv_poll_stop(&poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), [](uv_handle_t* h) {
    auto* w = static_cast<OomWatch*>(h->data);
    close(w->fd_);
    delete w;
  });
}

}  // namespace ocirun
