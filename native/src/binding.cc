// The N-API layer: hands the plan's JSON text to plan_reader.h for a plain ContainerPlan, calls the core, and
// turns a SysError into a JS Error shaped like Node's own system errors (code, errno, syscall, path) plus `step`.
// No isolation logic lives here.
#include <napi.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <cstring>
#include <functional>
#include <memory>
#include <unordered_map>

#include "cgroup.h"
#include "child_watch.h"
#include "netdev.h"
#include "off_thread.h"
#include "oom_watch.h"
#include "ops.h"
#include "plan_reader.h"
#include "procfs.h"
#include "spawn.h"
#include "state_dir.h"
#include "subreaper.h"
#include "terminal.h"
#include "unix_socket.h"
#include "writable_wait.h"

namespace {

using ocirun::ContainerPlan;
using ocirun::SysError;

Napi::Error to_js_error(Napi::Env env, const SysError& e) {
  std::string msg;
  if (e.step[0]) msg += std::string(e.step) + ": ";
  if (e.context[0]) msg += std::string(e.context) + ": ";
  if (e.detail[0]) {
    if (e.path[0] && !strstr(e.detail, e.path)) msg += std::string(e.path) + ": ";
    msg += e.detail;
  } else {
    msg += std::string(e.syscall) + " ";
    if (e.path[0]) msg += std::string(e.path) + ": ";
    msg += strerror(e.err);
  }
  Napi::Error err = Napi::Error::New(env, msg);
  Napi::Object o = err.Value();
  if (e.err) {
    o.Set("code", uv_err_name(-e.err));
    o.Set("errno", -e.err);
  }
  o.Set("syscall", e.syscall);
  if (e.path[0]) o.Set("path", e.path);
  if (e.step[0]) o.Set("step", e.step);
  if (e.detail[0]) o.Set("detail", e.detail);
  if (e.context[0]) o.Set("context", e.context);
  return err;
}

// spawn's arguments: the plan as JSON text (lib/native.ts) and its initControl Buffer. A plan of the wrong
// shape is a TypeError naming the field (plan_reader.h).
ContainerPlan to_plan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "spawn: plan must be a JSON string");
  if (!info[1].IsBuffer()) throw Napi::TypeError::New(env, "spawn: plan.initControl: must be a Buffer");
  ContainerPlan p;
  std::string error;
  std::string text = info[0].As<Napi::String>().Utf8Value();
  if (!ocirun::read_plan(text.data(), text.size(), p, error)) throw Napi::TypeError::New(env, "spawn: " + error);
  auto control = info[1].As<Napi::Buffer<char>>();
  p.initControl.assign(control.Data(), control.Length());
  return p;
}

uv_loop_t* loop_of(Napi::Env env) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) throw Napi::Error::New(env, "no event loop");
  return loop;
}

// Settling a promise from a libuv callback (not inside a call from JS) needs a callback scope: closing it runs
// the reactions the settlement queued. A JS error on the way is reported as uncaught, never as a C++ abort.
template <typename F>
void settle_in_scope(Napi::Env env, Napi::AsyncContext& context, F settle) {
  Napi::HandleScope handles(env);
  Napi::CallbackScope scope(env, context);
  try {
    settle();
  } catch (const Napi::Error& err) {
    napi_fatal_exception(env, err.Value());
  }
}

// Every process spawn makes is a child of this one. In a library (a daemon) it is reaped here when it exits:
// its pidfd on the event loop, not keeping the loop alive unless holdChild says so (the foreground of run and
// exec), and its status the `exited` promise of the spawned object. A CLI turns reaping off (setReaping):
// what it hands over (create, run -d, exec -d) passes to the subreaper that started it (conmon, a shim) when
// it exits, and the status is that subreaper's to take; it reaps only what it holds in the foreground.
bool reaping = true;

class ChildReaper : public ocirun::PidfdWatch {
 public:
  explicit ChildReaper(Napi::Env env, pid_t pid)
      : deferred_(Napi::Promise::Deferred::New(env)), context_(env, "ocirun:child"), pid_(pid) {}
  Napi::Promise promise() const { return deferred_.Promise(); }
  static std::unordered_map<pid_t, ChildReaper*>& live() {
    static std::unordered_map<pid_t, ChildReaper*> m;  // the loop thread's alone
    return m;
  }

 protected:
  void exited(int code, int sig) override {
    live().erase(pid_);
    ocirun::disown_child(pid_);
    Napi::Env env = deferred_.Env();
    settle_in_scope(env, context_, [&] {
      Napi::Object r = Napi::Object::New(env);
      r.Set("code", code);
      r.Set("signal", sig);
      deferred_.Resolve(r);
    });
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::AsyncContext context_;
  pid_t pid_;
};

Napi::Object spawned_object(Napi::Env env, const ocirun::Spawned& s) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("pid", s.pid);
  r.Set("notifyFd", s.notify_fd);
  r.Set("syncFd", s.sync_fd);
  r.Set("consoleFd", s.console_fd);
  r.Set("startTime", s.start_time);
  SysError e;
  int fd = int(syscall(SYS_pidfd_open, s.pid, 0));  // our child, not reaped yet: the pid is still its own
  if (fd < 0) ocirun::fail(e, "pidfd_open", "container process");
  auto* reaper = fd < 0 ? nullptr : new ChildReaper(env, s.pid);
  if (!reaper || reaper->start(loop_of(env), fd, reaping, false, e) < 0) {  // cannot be reaped: take it down
    for (int f : {s.notify_fd, s.sync_fd, s.console_fd})
      if (f >= 0) close(f);
    kill(s.pid, SIGKILL);
    waitpid(s.pid, nullptr, 0);
    throw to_js_error(env, e);
  }
  Napi::Promise exited = reaper->promise();
  ChildReaper::live()[s.pid] = reaper;
  ocirun::own_child(s.pid);
  r.Set("exited", exited);
  return r;
}

// A job whose result settles a promise: its work runs on one of the addon's threads (off_thread.h), its
// result is turned into JS on the loop thread.
class PromiseJob : public ocirun::LoopJob {
 public:
  explicit PromiseJob(Napi::Env env) : deferred_(Napi::Promise::Deferred::New(env)), context_(env, "ocirun:job") {}
  Napi::Promise queue(Napi::Env env) {
    Napi::Promise p = deferred_.Promise();
    int rc = start(loop_of(env));
    if (rc != 0) {
      ocirun::fail(err_, "uv_async_init", "", -rc);
      Napi::Error js = to_js_error(env, err_);
      delete this;
      throw js;
    }
    return p;
  }

 protected:
  void complete() override {
    Napi::Env env = deferred_.Env();
    settle_in_scope(env, context_, [&] {
      if (failed_) return deferred_.Reject(to_js_error(env, err_).Value());
      try {
        deferred_.Resolve(result(env));
      } catch (const Napi::Error& js) {
        deferred_.Reject(js.Value());
      }
    });
  }
  virtual Napi::Value result(Napi::Env env) { return env.Undefined(); }
  SysError err_;
  bool failed_ = false;

 private:
  Napi::Promise::Deferred deferred_;
  Napi::AsyncContext context_;
};

using SharedSpawn = std::shared_ptr<ocirun::SpawnState>;

// The spawn's halves (spawn.h) on an addon thread: the clone, the child's sync requests, createContainer hooks
// and the wait for the init's ready message never hold up the event loop.
class SpawnJob : public PromiseJob {
 public:
  enum class Part { Begin, Finish, Abort };
  SpawnJob(Napi::Env env, SharedSpawn st, Part part) : PromiseJob(env), st_(std::move(st)), part_(part), child_(st_->child) {}

 protected:
  void complete() override {
    if (part_ != Part::Begin) ocirun::disown_child(child_);  // reaped with the job, or a ChildReaper's now
    PromiseJob::complete();
  }
  void run() override {
    ocirun::SpawnState& st = *st_;
    if (part_ == Part::Abort) return st.end();
    if (part_ == Part::Begin) {
      if (ocirun::spawn_begin(st, err_) < 0) return void(failed_ = true);
      if (st.plan.cgroupDeferred) return;
    }
    out_ = ocirun::spawn_finish(st, err_);
    st.end();  // what failed is reaped now, not at the next garbage collection
    failed_ = out_.pid < 0;
  }
  Napi::Value result(Napi::Env env) override {
    if (part_ == Part::Abort) return env.Undefined();
    if (part_ == Part::Begin && st_->plan.cgroupDeferred) {
      Napi::Object r = Napi::Object::New(env);
      r.Set("pid", st_->child);
      ocirun::own_child(st_->child);  // waiting for its cgroup, between jobs: no orphan
      r.Set("pending", Napi::External<SharedSpawn>::New(env, new SharedSpawn(st_), [](Napi::Env, SharedSpawn* p) { delete p; }));
      return r;
    }
    return spawned_object(env, out_);
  }

 private:
  SharedSpawn st_;
  Part part_;
  pid_t child_;
  ocirun::Spawned out_;
};

// spawn(planJson, initControl) -> Promise<{pid, notifyFd, syncFd, consoleFd, exited}>: the container's init, waiting to be
// committed. With plan.cgroupDeferred it settles at the clone instead: {pid, pending}, the child waiting to be
// placed in its cgroup; spawnFinish(pending) goes on from there, spawnAbort(pending) takes it down.
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto st = std::make_shared<ocirun::SpawnState>();
  st->plan = to_plan(info);
  return (new SpawnJob(env, std::move(st), SpawnJob::Part::Begin))->queue(env);
}

SharedSpawn pending_of(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "spawn: pending must come from spawn()");
  SharedSpawn st = *info[0].As<Napi::External<SharedSpawn>>().Data();
  if (!st->child) throw Napi::Error::New(info.Env(), "spawn: this spawn has already ended");
  return st;
}

Napi::Value SpawnFinish(const Napi::CallbackInfo& info) {
  return (new SpawnJob(info.Env(), pending_of(info), SpawnJob::Part::Finish))->queue(info.Env());
}

Napi::Value SpawnAbort(const Napi::CallbackInfo& info) {
  return (new SpawnJob(info.Env(), pending_of(info), SpawnJob::Part::Abort))->queue(info.Env());
}

// holdChild(pid, on): waiting for this spawned process keeps the event loop (and so the process) alive, and
// its exit is reaped here whatever setReaping says. False when it is not a live child of ours.
Napi::Value HoldChild(const Napi::CallbackInfo& info) {
  auto it = ChildReaper::live().find(info[0].As<Napi::Number>().Int32Value());
  if (it == ChildReaper::live().end()) return Napi::Boolean::New(info.Env(), false);
  bool on = info[1].ToBoolean().Value();
  it->second->keep_alive(on);
  it->second->set_reap(on || reaping);
  return Napi::Boolean::New(info.Env(), true);
}

// setReaping(on): whether processes spawned from now on are reaped when they exit (see `reaping`).
Napi::Value SetReaping(const Napi::CallbackInfo& info) {
  reaping = info[0].ToBoolean().Value();
  return info.Env().Undefined();
}

// becomeSubreaper(): this process (a shim) becomes the child subreaper of what it starts and reaps the
// orphans that come to it (subreaper.h).
Napi::Value BecomeSubreaper(const Napi::CallbackInfo& info) {
  SysError e;
  if (ocirun::become_subreaper(loop_of(info.Env()), e) < 0) throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// setWinsize(fd, rows, cols): the window size of a pty, for the foreground proxy.
Napi::Value SetWinsize(const Napi::CallbackInfo& info) {
  SysError e;
  if (ocirun::set_winsize(info[0].As<Napi::Number>().Int32Value(), (unsigned short)info[1].As<Napi::Number>().Uint32Value(),
                          (unsigned short)info[2].As<Napi::Number>().Uint32Value(), "pty master", e) < 0)
    throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// A blocking call on an addon thread, settling with undefined.
class CallJob : public PromiseJob {
 public:
  CallJob(Napi::Env env, std::function<int(SysError&)> fn) : PromiseJob(env), fn_(std::move(fn)) {}

 protected:
  void run() override { failed_ = fn_(err_) < 0; }

 private:
  std::function<int(SysError&)> fn_;
};

// commit(syncFd) -> Promise: the container's pid is recorded; its init may go on waiting for start (a round
// trip to the init, which answers once it no longer dies with us).
Napi::Value Commit(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  return (new CallJob(info.Env(), [fd](SysError& e) { return ocirun::commit_container(fd, e); }))->queue(info.Env());
}

// attachDeviceFilter(dir, program, replace): a BPF_PROG_TYPE_CGROUP_DEVICE program (a Buffer of instructions)
// on a cgroup2 directory; with `replace`, the only one there.
Napi::Value AttachDeviceFilter(const Napi::CallbackInfo& info) {
  Napi::Buffer<unsigned char> prog = info[1].As<Napi::Buffer<unsigned char>>();
  std::vector<unsigned char> insns(prog.Data(), prog.Data() + prog.Length());
  SysError e;
  ocirun::set_step(e, ocirun::kStepCgroups);
  if (ocirun::attach_device_filter(info[0].As<Napi::String>().Utf8Value(), insns, info[2].ToBoolean().Value(), e) < 0)
    throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// sendFd(socketPath, payload, fd): one message with the fd attached (SCM_RIGHTS).
Napi::Value SendFd(const Napi::CallbackInfo& info) {
  SysError e;
  std::string path = info[0].As<Napi::String>().Utf8Value(), payload = info[1].As<Napi::String>().Utf8Value();
  if (ocirun::send_fd_to(path.c_str(), payload.data(), payload.size(), info[2].As<Napi::Number>().Int32Value(), e) < 0)
    throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// lock(fd) -> Promise: flock(LOCK_EX), waiting for other ocirun processes working on the same container.
Napi::Value Lock(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  return (new CallJob(info.Env(), [fd](SysError& e) { return ocirun::lock_exclusive(fd, e); }))->queue(info.Env());
}

// watchExit(pid, startTime) -> Promise<void>: settles once that process has exited (a zombie counts), or at
// once when it is gone already. Any process, not only children; nothing is reaped.
class ExitWatch : public ocirun::PidfdWatch {
 public:
  explicit ExitWatch(Napi::Promise::Deferred d) : deferred_(d), context_(d.Env(), "ocirun:watch") {}

 protected:
  void exited(int, int) override {
    settle_in_scope(deferred_.Env(), context_, [&] { deferred_.Resolve(deferred_.Env().Undefined()); });
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::AsyncContext context_;
};

Napi::Value WatchExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SysError e;
  int fd = -1;
  if (ocirun::open_pidfd(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::String>().Utf8Value().c_str(), &fd, e) < 0)
    throw to_js_error(env, e);
  auto deferred = Napi::Promise::Deferred::New(env);
  if (fd < 0) {
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  if ((new ExitWatch(deferred))->start(loop_of(env), fd, false, true, e) < 0) throw to_js_error(env, e);
  return deferred.Promise();
}

// watchOom(memoryDir, onSignal) -> stop(): calls onSignal on the loop thread whenever the kernel signals an
// OOM (or the removal) of a cgroup v1 memory controller directory, until stop() is called (oom_watch.h).
class JsOomWatch : public ocirun::OomWatch {
 public:
  JsOomWatch(Napi::Function fn) : fn_(Napi::Persistent(fn)), context_(fn.Env(), "ocirun:oom") {}

 protected:
  void signalled() override {
    Napi::Env env = fn_.Env();
    settle_in_scope(env, context_, [&] { fn_.Call({}); });
  }

 private:
  Napi::FunctionReference fn_;
  Napi::AsyncContext context_;
};

Napi::Value WatchOom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SysError e;
  auto* watch = new JsOomWatch(info[1].As<Napi::Function>());
  if (watch->start(loop_of(env), info[0].As<Napi::String>().Utf8Value(), e) < 0) throw to_js_error(env, e);
  auto live = std::make_shared<JsOomWatch*>(watch);
  return Napi::Function::New(env, [live](const Napi::CallbackInfo& info) {
    if (*live) (*live)->stop();
    *live = nullptr;
    return info.Env().Undefined();
  });
}

// whenWritable(fd, onReady) -> cancel(): calls onReady(status) once, on the loop thread, when fd can be written
// (status 0) or polling it failed (a negative libuv error); cancel() before that means it is never called
// (writable_wait.h).
class JsWritableWait : public ocirun::WritableWait {
 public:
  JsWritableWait(Napi::Function fn, std::shared_ptr<JsWritableWait*> self)
      : fn_(Napi::Persistent(fn)), context_(fn.Env(), "ocirun:writable"), self_(std::move(self)) {
    *self_ = this;
  }
  ~JsWritableWait() override { *self_ = nullptr; }

 protected:
  void ready(int status) override {
    Napi::Env env = fn_.Env();
    settle_in_scope(env, context_, [&] { fn_.Call({Napi::Number::New(env, status)}); });
  }

 private:
  Napi::FunctionReference fn_;
  Napi::AsyncContext context_;
  std::shared_ptr<JsWritableWait*> self_;  // what cancel() finds: null once the wait is gone
};

Napi::Value WhenWritable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SysError e;
  auto self = std::make_shared<JsWritableWait*>(nullptr);
  auto* wait = new JsWritableWait(info[1].As<Napi::Function>(), self);
  if (wait->start(loop_of(env), info[0].As<Napi::Number>().Int32Value(), e) < 0) throw to_js_error(env, e);
  return Napi::Function::New(env, [self](const Napi::CallbackInfo& info) {
    if (*self) (*self)->cancel();
    return info.Env().Undefined();
  });
}

// pidfdOpen(pid, startTime) -> fd, or -1 when that process (the one that started at startTime, if given) is
// gone. The caller closes the fd.
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  SysError e;
  int fd = -1;
  if (ocirun::open_pidfd(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::String>().Utf8Value().c_str(), &fd, e) < 0)
    throw to_js_error(info.Env(), e);
  return Napi::Number::New(info.Env(), fd);
}

// pidfdSignal(fd, sig) -> boolean: whether the process was still there to receive it.
Napi::Value PidfdSignal(const Napi::CallbackInfo& info) {
  SysError e;
  bool delivered = false;
  if (ocirun::pidfd_signal(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(), &delivered, e) < 0)
    throw to_js_error(info.Env(), e);
  return Napi::Boolean::New(info.Env(), delivered);
}

// makeStateDir(root, tmp, name, record) -> fd of the new, locked directory; -1: <root>/<name> exists; -2: <root>
// is missing (state_dir.h).
Napi::Value MakeStateDir(const Napi::CallbackInfo& info) {
  SysError e;
  std::string root = info[0].As<Napi::String>().Utf8Value(), tmp = info[1].As<Napi::String>().Utf8Value();
  std::string name = info[2].As<Napi::String>().Utf8Value(), record = info[3].As<Napi::String>().Utf8Value();
  ocirun::MakeStateDir outcome;
  int fd = -1;
  if (ocirun::make_state_dir(root.c_str(), tmp.c_str(), name.c_str(), record.data(), record.size(), &outcome, &fd, e) < 0)
    throw to_js_error(info.Env(), e);
  return Napi::Number::New(info.Env(), outcome == ocirun::MakeStateDir::Made ? fd : outcome == ocirun::MakeStateDir::Exists ? -1 : -2);
}

// replaceFileAt(dirfd, name, data, mode, shownDir): `name` in that directory replaced atomically.
Napi::Value ReplaceFileAt(const Napi::CallbackInfo& info) {
  SysError e;
  std::string name = info[1].As<Napi::String>().Utf8Value(), data = info[2].As<Napi::String>().Utf8Value();
  std::string shown = info[4].As<Napi::String>().Utf8Value();
  if (ocirun::replace_file_at(info[0].As<Napi::Number>().Int32Value(), name.c_str(), data.data(), data.size(),
                              mode_t(info[3].As<Napi::Number>().Uint32Value()), shown.c_str(), e) < 0)
    throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// writeProcFile(rel, data): one write to /proc/<rel>, opened beneath a checked procfs (procfs.h).
Napi::Value WriteProcFile(const Napi::CallbackInfo& info) {
  std::string rel = info[0].As<Napi::String>().Utf8Value(), data = info[1].As<Napi::String>().Utf8Value();
  SysError e;
  if (ocirun::write_proc_file(rel.c_str(), data.data(), data.size(), ("/proc/" + rel).c_str(), e) < 0)
    throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// moveNetDevice(fromNs, name, toNs, newName): network device `name` of the network namespace file `fromNs`
// ("": the runtime's) moved into the one of `toNs`, named `newName` there ("": unchanged), its permanent
// addresses and up state kept (netdev.h).
Napi::Value MoveNetDevice(const Napi::CallbackInfo& info) {
  std::string from = info[0].As<Napi::String>().Utf8Value(), name = info[1].As<Napi::String>().Utf8Value();
  std::string to = info[2].As<Napi::String>().Utf8Value(), renamed = info[3].As<Napi::String>().Utf8Value();
  SysError e;
  ocirun::set_step(e, ocirun::kStepNetDevices);
  if (ocirun::move_net_device(from.c_str(), name.c_str(), to.c_str(), renamed.c_str(), e) < 0) throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// mountFs(type, source, target, flags, data): a mount on the host (the shim's rootfs from containerd's mounts).
Napi::Value MountFs(const Napi::CallbackInfo& info) {
  std::string type = info[0].As<Napi::String>().Utf8Value(), source = info[1].As<Napi::String>().Utf8Value();
  std::string target = info[2].As<Napi::String>().Utf8Value(), data = info[4].As<Napi::String>().Utf8Value();
  SysError e;
  if (ocirun::mount_fs(type.c_str(), source.c_str(), target.c_str(), (unsigned long)info[3].As<Napi::Number>().Int64Value(), data.c_str(), e) < 0)
    throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// unmountDetach(target): a lazy unmount; nothing mounted there is fine.
Napi::Value UnmountDetach(const Napi::CallbackInfo& info) {
  SysError e;
  if (ocirun::unmount_detach(info[0].As<Napi::String>().Utf8Value().c_str(), e) < 0) throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// pipe() -> [read fd, write fd]: a blocking pipe, close-on-exec.
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  SysError e;
  int fds[2];
  if (ocirun::make_pipe(fds, e) < 0) throw to_js_error(info.Env(), e);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Number::New(info.Env(), fds[0]));
  out.Set(1u, Napi::Number::New(info.Env(), fds[1]));
  return out;
}

// openFifo(path, write) -> fd: a fifo opened without waiting, then blocking (ops.h).
Napi::Value OpenFifo(const Napi::CallbackInfo& info) {
  SysError e;
  int fd = -1;
  if (ocirun::open_fifo(info[0].As<Napi::String>().Utf8Value().c_str(), info[1].As<Napi::Boolean>().Value(), &fd, e) < 0)
    throw to_js_error(info.Env(), e);
  return Napi::Number::New(info.Env(), fd);
}

// dupFd(fd) -> fd: a close-on-exec copy (ops.h).
Napi::Value DupFd(const Napi::CallbackInfo& info) {
  SysError e;
  int fd = -1;
  if (ocirun::dup_fd(info[0].As<Napi::Number>().Int32Value(), &fd, e) < 0) throw to_js_error(info.Env(), e);
  return Napi::Number::New(info.Env(), fd);
}

// setNonBlocking(fd): O_NONBLOCK on its open file (ops.h).
Napi::Value SetNonBlocking(const Napi::CallbackInfo& info) {
  SysError e;
  if (ocirun::set_nonblocking(info[0].As<Napi::Number>().Int32Value(), e) < 0) throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// prepareSpawn(initPath) -> boolean: the stub's sealed copy, made on an addon thread (spawn.h).
Napi::Value PrepareSpawn(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "prepareSpawn: initPath must be a string");
  return Napi::Boolean::New(info.Env(), ocirun::prepare_spawn(info[0].As<Napi::String>().Utf8Value()));
}

// tryLock(fd) -> boolean: flock(LOCK_EX|LOCK_NB), so that an uncontended lock costs no threadpool round trip.
Napi::Value TryLock(const Napi::CallbackInfo& info) {
  SysError e;
  bool locked = false;
  if (ocirun::try_lock_exclusive(info[0].As<Napi::Number>().Int32Value(), &locked, e) < 0) throw to_js_error(info.Env(), e);
  return Napi::Boolean::New(info.Env(), locked);
}

// unlock(fd): flock(LOCK_UN), the fd kept open.
Napi::Value Unlock(const Napi::CallbackInfo& info) {
  SysError e;
  if (ocirun::unlock(info[0].As<Napi::Number>().Int32Value(), e) < 0) throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// exitNow(code): the process ends here, through _exit(2), without Node's teardown (its platform's worker
// threads joined, V8 disposed: ~1 ms of every command). Only the CLI calls it, once all it wrote is out.
Napi::Value ExitNow(const Napi::CallbackInfo& info) { _exit(info[0].As<Napi::Number>().Int32Value()); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using Fn = Napi::Value (*)(const Napi::CallbackInfo&);
  static const std::pair<const char*, Fn> kFunctions[] = {
      {"prepareSpawn", PrepareSpawn}, {"spawn", Spawn}, {"spawnFinish", SpawnFinish}, {"spawnAbort", SpawnAbort}, {"commit", Commit},
      {"holdChild", HoldChild}, {"setReaping", SetReaping}, {"becomeSubreaper", BecomeSubreaper}, {"watchExit", WatchExit}, {"watchOom", WatchOom}, {"whenWritable", WhenWritable}, {"lock", Lock}, {"tryLock", TryLock}, {"unlock", Unlock}, {"pidfdOpen", PidfdOpen}, {"pidfdSignal", PidfdSignal},
      {"makeStateDir", MakeStateDir}, {"replaceFileAt", ReplaceFileAt}, {"writeProcFile", WriteProcFile}, {"sendFd", SendFd},
      {"setWinsize", SetWinsize}, {"attachDeviceFilter", AttachDeviceFilter},
      {"moveNetDevice", MoveNetDevice}, {"mountFs", MountFs}, {"unmountDetach", UnmountDetach},
      {"openFifo", OpenFifo}, {"pipe", Pipe}, {"dupFd", DupFd}, {"setNonBlocking", SetNonBlocking}, {"exitNow", ExitNow}};
  for (const auto& [name, fn] : kFunctions) exports.Set(name, Napi::Function::New(env, fn, name));
  return exports;
}

}  // namespace

NODE_API_MODULE(ocirun, Init)
