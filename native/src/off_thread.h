// Work off the JS thread, on threads the addon owns: never on libuv's shared threadpool, which Node's own file
// and DNS work needs (four threads by default: a few waits there would stall a daemon's I/O).
//
// The threads are made on demand and never end. A container's init is a child of the thread that cloned it,
// and its parent-death signal (kept until the runtime commits it) follows that thread, not the process: a
// thread that ended would kill every init it made that is still waiting for its commit.
#pragma once

#include <uv.h>

#include <functional>

namespace ocirun {

// Runs `work` on a worker thread, with no loop to report to (vfork_clone.cc: the clone of a container's child,
// which holds its thread until the child has exec'd). False, with nothing queued, if no thread could be had.
bool run_on_worker(std::function<void()> work);

// Makes threads until the addon has `n` (idle ones wait for work): a spawn needs two at once (its job, and the
// clone that holds its thread until the child has exec'd), and making them ahead keeps that off its path.
void have_workers(int n);

// How many jobs were started and have not completed yet (the loop thread's count).
int jobs_in_flight();

class LoopJob {
 public:
  virtual ~LoopJob() = default;
  // Queues run() on a worker thread; complete() then runs on the thread of `loop`, and the job deletes itself.
  // Until then the job keeps the loop alive. Returns a libuv error (and does nothing) if it cannot start.
  int start(uv_loop_t* loop);

 protected:
  virtual void run() = 0;       // on a worker thread: plain C++ and syscalls, nothing of N-API
  virtual void complete() = 0;  // on the loop thread

 private:
  friend void run_job(LoopJob*);
  uv_async_t async_{};
};

}  // namespace ocirun
