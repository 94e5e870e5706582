#include "off_thread.h"

#include <signal.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>

namespace ocirun {

namespace {

// Never destroyed: at exit the workers still wait on the condition variable, and destroying one that has
// waiters blocks for ever (glibc waits for them to leave).
struct Pool {
  std::mutex mu;
  std::condition_variable wake;
  std::deque<std::function<void()>> queue;
  int idle = 0;
  int threads = 0;
};
Pool& pool = *new Pool;
int in_flight = 0;  // the loop thread's

void worker() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock<std::mutex> l(pool.mu);
      pool.idle++;
      pool.wake.wait(l, [] { return !pool.queue.empty(); });
      pool.idle--;
      work = std::move(pool.queue.front());
      pool.queue.pop_front();
    }
    work();
  }
}

// A new thread blocks every signal from its first instruction on (it inherits the mask it is made with):
// signals are the JS thread's, and a container's child must not be cloned with a handler of Node's armed.
void add_worker() {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    std::thread(worker).detach();
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pool.threads++;
}

// Queues `work`, with a thread for it if none is idle: every queued job gets one, so a long wait holds up no other.
// Called with pool.mu held. Throws std::system_error, with nothing queued, if no thread could be made.
void enqueue(std::function<void()> work) {
  if (int(pool.queue.size()) >= pool.idle) add_worker();
  pool.queue.push_back(std::move(work));
  pool.wake.notify_one();
}

}  // namespace

int jobs_in_flight() { return in_flight; }

bool run_on_worker(std::function<void()> work) {
  std::lock_guard<std::mutex> l(pool.mu);
  try {
    enqueue(std::move(work));
  } catch (const std::system_error&) {
    return false;
  }
  return true;
}

void have_workers(int n) {
  std::lock_guard<std::mutex> l(pool.mu);
  try {
    while (pool.threads < n) add_worker();
  } catch (const std::system_error&) {
    /* made on demand later, or the job that needs one fails then */
  }
}

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
  enqueue([this] { run_job(this); });
  return 0;
}

}  // namespace ocirun
