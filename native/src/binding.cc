// The N-API layer: converts the validated JS plan into a plain ContainerPlan, calls the core, and turns a
// SysError into a JS Error shaped like Node's own system errors (code, errno, syscall, path) plus `step`.
// No isolation logic lives here.
#include <napi.h>
#include <sys/sysmacros.h>
#include <uv.h>

#include <cstring>
#include <functional>

#include "cgroup.h"
#include "ops.h"
#include "procfs.h"
#include "spawn.h"
#include "unix_socket.h"

namespace {

using ocirun::ContainerPlan;
using ocirun::SysError;

Napi::Error to_js_error(Napi::Env env, const SysError& e) {
  std::string msg;
  if (e.step[0]) msg += std::string(e.step) + ": ";
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
  return err;
}

std::string str(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}
double num(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
}
bool flag(const Napi::Object& o, const char* key) { return o.Get(key).ToBoolean().Value(); }
bool has(const Napi::Object& o, const char* key) { return o.Get(key).IsString(); }

template <typename T, typename F>
std::vector<T> list(const Napi::Object& o, const char* key, F convert) {
  std::vector<T> out;
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(convert(a.Get(i)));
  return out;
}
std::string as_string(Napi::Value v) { return v.As<Napi::String>().Utf8Value(); }

ContainerPlan to_plan(const Napi::Object& o) {
  ContainerPlan p;
  p.initPath = str(o, "initPath");
  p.fifoPath = str(o, "fifoPath");
  p.joinExisting = flag(o, "joinExisting");
  p.cloneFlags = (unsigned long)num(o, "cloneFlags");
  p.joins = list<ocirun::NamespaceJoin>(o, "joins", [](Napi::Value v) {
    Napi::Object j = v.As<Napi::Object>();
    return ocirun::NamespaceJoin{int(num(j, "type")), str(j, "path")};
  });
  p.joinPidfd = o.Get("joinPidfd").IsNumber() ? int(num(o, "joinPidfd")) : -1;
  p.uidMap = str(o, "uidMap");
  p.gidMap = str(o, "gidMap");
  p.timeOffsets = str(o, "timeOffsets");
  p.preserveFds = int(num(o, "preserveFds"));
  p.cgroupPath = str(o, "cgroupPath");
  p.cgroupTasks = list<std::string>(o, "cgroupTasks", as_string);
  p.cgroupNamespace = flag(o, "cgroupNamespace");
  p.rootfs = str(o, "rootfs");
  p.rootReadonly = flag(o, "rootReadonly");
  p.noPivot = flag(o, "noPivot");
  p.rootPropagation = (unsigned long)num(o, "rootPropagation");
  p.mounts = list<ocirun::MountPlan>(o, "mounts", [](Napi::Value v) {
    Napi::Object m = v.As<Napi::Object>();
    ocirun::MountPlan mp;
    mp.kind = ocirun::MountPlan::Kind(int(num(m, "kind")));
    mp.source = str(m, "source");
    mp.destination = str(m, "destination");
    mp.type = str(m, "type");
    mp.data = str(m, "data");
    mp.flags = (unsigned long)num(m, "flags");
    mp.propagation = (unsigned long)num(m, "propagation");
    mp.recursiveReadonly = flag(m, "recursiveReadonly");
    mp.sourceIsFile = flag(m, "sourceIsFile");
    mp.cgroupNames = list<std::string>(m, "cgroupNames", as_string);
    mp.cgroupOptions = list<std::string>(m, "cgroupOptions", as_string);
    mp.cgroupSources = list<std::string>(m, "cgroupSources", as_string);
    return mp;
  });
  p.devices = list<ocirun::DevicePlan>(o, "devices", [](Napi::Value v) {
    Napi::Object d = v.As<Napi::Object>();
    ocirun::DevicePlan dp;
    dp.path = str(d, "path");
    dp.mode = mode_t(num(d, "mode"));
    dp.dev = makedev(unsigned(num(d, "major")), unsigned(num(d, "minor")));
    dp.uid = uid_t(num(d, "uid"));
    dp.gid = gid_t(num(d, "gid"));
    dp.bindFromHost = flag(d, "bindFromHost");
    return dp;
  });
  p.symlinks = list<ocirun::SymlinkPlan>(o, "symlinks", [](Napi::Value v) {
    Napi::Object s = v.As<Napi::Object>();
    return ocirun::SymlinkPlan{str(s, "target"), str(s, "linkpath")};
  });
  p.createContainerHooks = list<ocirun::HookPlan>(o, "createContainerHooks", [](Napi::Value v) {
    Napi::Object h = v.As<Napi::Object>();
    ocirun::HookPlan hp;
    hp.path = str(h, "path");
    hp.args = list<std::string>(h, "args", as_string);
    hp.env = list<std::string>(h, "env", as_string);
    hp.timeout = unsigned(num(h, "timeout"));
    return hp;
  });
  p.hookStateTemplate = str(o, "hookStateTemplate");
  p.sysctls = list<ocirun::SysctlPlan>(o, "sysctls", [](Napi::Value v) {
    Napi::Object s = v.As<Napi::Object>();
    return ocirun::SysctlPlan{str(s, "path"), str(s, "value")};
  });
  p.readonlyPaths = list<std::string>(o, "readonlyPaths", as_string);
  p.maskedPaths = list<std::string>(o, "maskedPaths", as_string);
  p.setHostname = has(o, "hostname");
  p.hostname = str(o, "hostname");
  p.setDomainname = has(o, "domainname");
  p.domainname = str(o, "domainname");
  p.cwd = str(o, "cwd");
  p.sessionKeyring = str(o, "sessionKeyring");
  p.terminal = flag(o, "terminal");
  p.consoleSocket = str(o, "consoleSocket");
  p.consoleRows = (unsigned short)num(o, "consoleRows");
  p.consoleCols = (unsigned short)num(o, "consoleCols");
  Napi::Value control = o.Get("initControl");
  if (control.IsBuffer()) {
    auto b = control.As<Napi::Buffer<char>>();
    p.initControl.assign(b.Data(), b.Length());
  }
  p.env = list<std::string>(o, "env", as_string);
  return p;
}

// spawn(plan) -> {pid, notifyFd, syncFd}: the container's init, waiting to be committed, and its seccomp
// notify fd or -1.
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "spawn: plan must be an object");
  ContainerPlan plan = to_plan(info[0].As<Napi::Object>());
  SysError e;
  ocirun::Spawned s = ocirun::spawn_container(plan, e);
  if (s.pid < 0) throw to_js_error(env, e);
  Napi::Object r = Napi::Object::New(env);
  r.Set("pid", s.pid);
  r.Set("notifyFd", s.notify_fd);
  r.Set("syncFd", s.sync_fd);
  r.Set("consoleFd", s.console_fd);
  return r;
}

// setWinsize(fd, rows, cols): the window size of a pty, for the foreground proxy.
Napi::Value SetWinsize(const Napi::CallbackInfo& info) {
  SysError e;
  if (ocirun::set_winsize(info[0].As<Napi::Number>().Int32Value(), (unsigned short)info[1].As<Napi::Number>().Uint32Value(),
                          (unsigned short)info[2].As<Napi::Number>().Uint32Value(), "pty master", e) < 0)
    throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// commit(syncFd): the container's pid is recorded; its init may go on waiting for start.
Napi::Value Commit(const Napi::CallbackInfo& info) {
  SysError e;
  if (ocirun::commit_container(info[0].As<Napi::Number>().Int32Value(), e) < 0) throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// attachDeviceFilter(dir, program): a BPF_PROG_TYPE_CGROUP_DEVICE program (a Buffer of instructions) on a
// cgroup2 directory.
Napi::Value AttachDeviceFilter(const Napi::CallbackInfo& info) {
  Napi::Buffer<unsigned char> prog = info[1].As<Napi::Buffer<unsigned char>>();
  std::vector<unsigned char> insns(prog.Data(), prog.Data() + prog.Length());
  SysError e;
  ocirun::set_step(e, "cgroups");
  if (ocirun::attach_device_filter(info[0].As<Napi::String>().Utf8Value(), insns, e) < 0) throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// sendFd(socketPath, payload, fd): one message with the fd attached (SCM_RIGHTS).
Napi::Value SendFd(const Napi::CallbackInfo& info) {
  SysError e;
  if (ocirun::send_fd_to(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value(),
                         info[2].As<Napi::Number>().Int32Value(), e) < 0)
    throw to_js_error(info.Env(), e);
  return info.Env().Undefined();
}

// Runs a blocking syscall on the libuv threadpool and settles a promise with its result.
class BlockingCall : public Napi::AsyncWorker {
 public:
  using Fn = std::function<int(SysError&, int&, int&)>;
  BlockingCall(Napi::Env env, Fn fn) : Napi::AsyncWorker(env), fn_(std::move(fn)), deferred_(env) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { rc_ = fn_(err_, a_, b_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (rc_ < 0) return deferred_.Reject(to_js_error(env, err_).Value());
    Napi::Object r = Napi::Object::New(env);
    r.Set("a", a_);
    r.Set("b", b_);
    deferred_.Resolve(r);
  }

 private:
  Fn fn_;
  Napi::Promise::Deferred deferred_;
  SysError err_;
  int rc_ = 0, a_ = 0, b_ = 0;
};

// waitExit(pid) -> Promise<{a: exit code or -1, b: signal or 0}>. Only for children of this process.
Napi::Value WaitExit(const Napi::CallbackInfo& info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  auto* w = new BlockingCall(info.Env(), [pid](SysError& e, int& code, int& sig) { return ocirun::wait_exit(pid, &code, &sig, e); });
  w->Queue();
  return w->Promise();
}

// lock(fd) -> Promise: flock(LOCK_EX), waiting for other ocirun processes working on the same container.
Napi::Value Lock(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto* w = new BlockingCall(info.Env(), [fd](SysError& e, int&, int&) { return ocirun::lock_exclusive(fd, e); });
  w->Queue();
  return w->Promise();
}

// watchExit(pid, startTime) -> Promise<void>: settles once that process has exited (a zombie counts), or at
// once when it is gone already. A pidfd polled on Node's own event loop: no thread, no timer, any process.
struct ExitWatch {
  uv_poll_t handle;
  int fd;
  Napi::Promise::Deferred deferred;
};

void free_watch(uv_handle_t* h) {
  auto* w = static_cast<ExitWatch*>(h->data);
  close(w->fd);
  delete w;
}

Napi::Value WatchExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SysError e;
  int fd = -1;
  if (ocirun::open_pidfd(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::String>().Utf8Value().c_str(), &fd, e) < 0)
    throw to_js_error(env, e);
  auto deferred = Napi::Promise::Deferred::New(env);
  uv_loop_t* loop = nullptr;
  if (fd < 0 || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    if (fd >= 0) close(fd);
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  auto* w = new ExitWatch{{}, fd, deferred};
  w->handle.data = w;
  if (uv_poll_init(loop, &w->handle, fd) != 0) {  // nothing to wait on: report it as gone, never hang
    close(fd);
    delete w;
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  int rc = uv_poll_start(&w->handle, UV_READABLE, [](uv_poll_t* h, int, int) {
    auto* w = static_cast<ExitWatch*>(h->data);
    uv_poll_stop(h);
    Napi::Env env = w->deferred.Env();
    Napi::HandleScope scope(env);
    w->deferred.Resolve(env.Undefined());
    uv_close(reinterpret_cast<uv_handle_t*>(h), free_watch);
  });
  if (rc != 0) {
    w->deferred.Resolve(env.Undefined());
    uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), free_watch);
  }
  return deferred.Promise();
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

// renameNoReplace(from, to): a rename that never replaces what is at `to`.
Napi::Value RenameNoReplace(const Napi::CallbackInfo& info) {
  SysError e;
  if (ocirun::rename_noreplace(info[0].As<Napi::String>().Utf8Value().c_str(), info[1].As<Napi::String>().Utf8Value().c_str(), e) < 0)
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

// tryLock(fd) -> boolean: flock(LOCK_EX|LOCK_NB), so that an uncontended lock costs no threadpool round trip.
Napi::Value TryLock(const Napi::CallbackInfo& info) {
  SysError e;
  bool locked = false;
  if (ocirun::try_lock_exclusive(info[0].As<Napi::Number>().Int32Value(), &locked, e) < 0) throw to_js_error(info.Env(), e);
  return Napi::Boolean::New(info.Env(), locked);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("spawn", Napi::Function::New(env, Spawn));
  exports.Set("waitExit", Napi::Function::New(env, WaitExit));
  exports.Set("lock", Napi::Function::New(env, Lock));
  exports.Set("tryLock", Napi::Function::New(env, TryLock));
  exports.Set("watchExit", Napi::Function::New(env, WatchExit));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("pidfdSignal", Napi::Function::New(env, PidfdSignal));
  exports.Set("renameNoReplace", Napi::Function::New(env, RenameNoReplace));
  exports.Set("writeProcFile", Napi::Function::New(env, WriteProcFile));
  exports.Set("sendFd", Napi::Function::New(env, SendFd));
  exports.Set("commit", Napi::Function::New(env, Commit));
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize));
  exports.Set("attachDeviceFilter", Napi::Function::New(env, AttachDeviceFilter));
  return exports;
}

}  // namespace

NODE_API_MODULE(ocirun, Init)
