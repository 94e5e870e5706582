#include "writable_wait.h"

#include <unistd.h>

#include "ops.h"

namespace ocirun {

int WritableWait::start(uv_loop_t* loop, int fd, SysError& e) {
  if (dup_fd(fd, &fd_, e) < 0) {
    delete this;
    return -1;
  }
  int rc = uv_poll_init(loop, &poll_, fd_);
  if (rc != 0) {
    fail(e, "uv_poll_init", "", -rc);
    close(fd_);
    delete this;
    return -1;
  }
  poll_.data = this;
  rc = uv_poll_start(&poll_, UV_WRITABLE, [](uv_poll_t* h, int status, int) {
    auto* w = static_cast<WritableWait*>(h->data);
    if (w->done_) return;
    w->done_ = true;
    uv_poll_stop(h);  // before ready(), which may start the next wait
    w->ready(status);
    w->end();
  });
  if (rc != 0) {
    fail(e, "uv_poll_start", "", -rc);
    done_ = true;
    end();  // the handle is initialised: libuv closes it, then the wait is deleted
    return -1;
  }
  return 0;
}

void WritableWait::cancel() {
  if (done_) return;
  done_ = true;
  end();
}

void WritableWait::end() {
  uv_poll_stop(&poll_);
  // The copy of the fd stays open until libuv has let go of the handle (its close unregisters the fd).
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), [](uv_handle_t* h) {
    auto* w = static_cast<WritableWait*>(h->data);
    close(w->fd_);
    delete w;
  });
}

}  // namespace ocirun
