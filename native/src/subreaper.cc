#include "subreaper.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "child_watch.h"
#include "off_thread.h"

namespace ocirun {

namespace {

uv_signal_t sigchld;
uv_check_t after_jobs;  // a pass put off while jobs ran, run once none does
bool started = false;

// The pids in /proc/self/task/<tid>/children: the children of each of this process's threads (an orphan
// comes to the first thread, a container's init is a child of the addon thread that cloned it).
std::vector<pid_t> children() {
  std::vector<pid_t> out;
  DIR* tasks = opendir("/proc/self/task");
  if (!tasks) return out;
  while (dirent* t = readdir(tasks)) {
    if (t->d_name[0] == '.') continue;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/self/task/%s/children", t->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = 0;
    for (char* p = buf; *p;) {
      char* end;
      long pid = strtol(p, &end, 10);
      if (end == p) break;
      out.push_back(pid_t(pid));
      p = end;
    }
  }
  closedir(tasks);
  return out;
}

void reap_orphans(uv_loop_t* loop) {
  if (jobs_in_flight() > 0) {
    uv_check_start(&after_jobs, [](uv_check_t* h) {
      if (jobs_in_flight() > 0) return;
      uv_check_stop(h);
      reap_orphans(h->loop);
    });
    return;
  }
  std::vector<pid_t> libuv;
  uv_walk(loop, [](uv_handle_t* h, void* arg) {
    if (h->type == UV_PROCESS) static_cast<std::vector<pid_t>*>(arg)->push_back(pid_t(reinterpret_cast<uv_process_t*>(h)->pid));
  }, &libuv);
  for (pid_t pid : children()) {
    if (owns_child(pid)) continue;
    bool nodes = false;
    for (pid_t p : libuv) nodes = nodes || p == pid;
    if (nodes) continue;
    siginfo_t info;
    while (waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace

int become_subreaper(uv_loop_t* loop, SysError& e) {
  if (started) return 0;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) return fail(e, "prctl(PR_SET_CHILD_SUBREAPER)", "");
  int rc = uv_check_init(loop, &after_jobs);
  if (rc == 0) rc = uv_signal_init(loop, &sigchld);
  if (rc == 0) rc = uv_signal_start(&sigchld, [](uv_signal_t* h, int) { reap_orphans(h->loop); }, SIGCHLD);
  if (rc != 0) return fail(e, "uv_signal_start", "SIGCHLD", -rc);
  uv_unref(reinterpret_cast<uv_handle_t*>(&after_jobs));
  uv_unref(reinterpret_cast<uv_handle_t*>(&sigchld));
  started = true;
  reap_orphans(loop);  // any that came before
  return 0;
}

}  // namespace ocirun
