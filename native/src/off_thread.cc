#include "off_thread.h"

#include <signal.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace ocirun {

namespace {

// Never destroyed: at exit the workers still wait on the condition variable, and destroying one that has
// waiters blocks for ever (glibc waits for them to leave).
struct Pool {
  std::mutex mu;
  std::condition_variable wake;
  std::deque<LoopJob*> queue;
  int idle = 0;
};
Pool& pool = *new Pool;
int in_flight = 0;  // the loop thread's

void worker() {
  for (;;) {
    LoopJob* job;
    {
      std::unique_lock<std::mutex> l(pool.mu);
      pool.idle++;
      pool.wake.wait(l, [] { return !pool.queue.empty(); });
      pool.idle--;
      job = pool.queue.front();
      pool.queue.pop_front();
    }
    run_job(job);
  }
}

// A new thread blocks every signal from its first instruction on (it inherits the mask it is made with):
// signals are the JS thread's, and a container's child must not be cloned with a handler of Node's armed.
void add_worker() {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  std::thread(worker).detach();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace

int jobs_in_flight() { return in_flight; }

void run_job(LoopJob* job) {
  job->run();
  uv_async_send(&job->async_);
}

int LoopJob::start(uv_loop_t* loop) {
  int rc = uv_async_init(loop, &async_, [](uv_async_t* a) {
    auto* job = static_cast<LoopJob*>(a->data);
    job->complete();
    in_flight--;
    uv_close(reinterpret_cast<uv_handle_t*>(a), [](uv_handle_t* h) { delete static_cast<LoopJob*>(h->data); });
  });
  if (rc != 0) return rc;
  async_.data = this;
  in_flight++;
  std::lock_guard<std::mutex> l(pool.mu);
  pool.queue.push_back(this);
  if (int(pool.queue.size()) > pool.idle) add_worker();  // every queued job gets a thread: a long wait holds up no other
  pool.wake.notify_one();
  return 0;
}

}  // namespace ocirun
