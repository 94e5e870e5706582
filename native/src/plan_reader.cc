#include "plan_reader.h"

#include <string.h>
#include <sys/sysmacros.h>

#include "json.h"

namespace ocirun {

namespace {

using json::Value;

struct Refused {
  std::string message;  // `plan.mounts[2].flags: must be a number`
};

// One object of the plan. Every field is read through it; finish() then refuses any key that was not read.
// (JSON.stringify leaves out fields that are undefined: a key present is a field with a value.)
class Fields {
 public:
  Fields(const Value& o, std::string where) : o_(o), where_(std::move(where)) {}

  std::string str(const char* key, bool required = true) {
    const Value* v = get(key, required);
    if (!v) return std::string();
    if (v->kind != Value::String) bad(key, "must be a string");
    return v->text;
  }
  double num(const char* key, bool required = true) {
    const Value* v = get(key, required);
    if (!v) return 0;
    if (v->kind != Value::Number) bad(key, "must be a number");
    return v->number;
  }
  bool flag(const char* key, bool required = true) {
    const Value* v = get(key, required);
    if (!v) return false;
    if (v->kind != Value::Bool) bad(key, "must be a boolean");
    return v->boolean;
  }
  bool present(const char* key) { return get(key, false) != nullptr; }
  // A list whose items (objects) `convert(Fields&)` reads.
  template <typename T, typename F>
  std::vector<T> objects(const char* key, bool required, F convert) {
    std::vector<T> out;
    const Value* v = get(key, required);
    if (!v) return out;
    if (v->kind != Value::Array) bad(key, "must be an array");
    out.reserve(v->items.size());
    for (size_t i = 0; i < v->items.size(); i++) {
      std::string at = where_ + "." + key + "[" + std::to_string(i) + "]";
      if (v->items[i].kind != Value::Object) throw Refused{at + ": must be an object"};
      Fields f(v->items[i], at);
      out.push_back(convert(f));
      f.finish();
    }
    return out;
  }
  std::vector<std::string> strings(const char* key, bool required = true) {
    std::vector<std::string> out;
    const Value* v = get(key, required);
    if (!v) return out;
    if (v->kind != Value::Array) bad(key, "must be an array of strings");
    out.reserve(v->items.size());
    for (const Value& item : v->items) {
      if (item.kind != Value::String) bad(key, "must be an array of strings");
      out.push_back(item.text);
    }
    return out;
  }
  std::vector<int> ints(const char* key) {
    std::vector<int> out;
    const Value* v = get(key, true);
    if (v->kind != Value::Array) bad(key, "must be an array of integers");
    for (const Value& item : v->items) {
      if (item.kind != Value::Number) bad(key, "must be an array of integers");
      out.push_back(int(item.number));
    }
    return out;
  }
  Fields object(const char* key) {
    const Value* v = get(key, true);
    if (v->kind != Value::Object) bad(key, "must be an object");
    return Fields(*v, where_ + "." + key);
  }
  [[noreturn]] void reject(const char* key, const char* what) { bad(key, what); }
  void finish() {
    for (size_t i = 0; i < o_.keys.size(); i++) {
      if (used_[i]) continue;
      bool repeated = false;
      for (size_t j = 0; j < o_.keys.size(); j++) repeated |= used_[j] && o_.keys[j] == o_.keys[i];
      bad(o_.keys[i].c_str(), repeated ? "given twice" : "unknown field");
    }
  }

 private:
  // The key's member, found from where the last one was: TypeScript writes the fields mostly in the order
  // they are read here, so that each lookup is a comparison or two.
  const Value* get(const char* key, bool required) {
    size_t len = strlen(key), n = o_.keys.size();
    for (size_t k = 0; k < n; k++) {
      size_t i = (next_ + k) % n;
      const std::string& have = o_.keys[i];
      if (have.size() != len || memcmp(have.data(), key, len) != 0) continue;
      used_[i] = true;
      next_ = i + 1;
      return &o_.items[i];
    }
    if (required) bad(key, "missing");
    return nullptr;
  }
  [[noreturn]] void bad(const char* key, const char* why) { throw Refused{where_ + "." + key + ": " + why}; }

  const Value& o_;
  std::string where_;
  std::vector<bool> used_ = std::vector<bool>(o_.keys.size());
  size_t next_ = 0;
};

MountPlan to_mount(Fields& m) {
  MountPlan mp;
  mp.kind = MountPlan::Kind(int(m.num("kind")));
  mp.source = m.str("source");
  mp.destination = m.str("destination");
  mp.type = m.str("type");
  mp.data = m.str("data");
  mp.flags = (unsigned long)m.num("flags");
  mp.clearedFlags = m.present("clearedFlags") ? (unsigned long)m.num("clearedFlags") : 0;
  if (m.present("idmap")) {
    Fields id = m.object("idmap");
    mp.idmap = true;
    mp.idmapUid = id.str("uidMap");
    mp.idmapGid = id.str("gidMap");
    mp.idmapRecursive = id.flag("recursive");
    id.finish();
  }
  mp.propagation = (unsigned long)m.num("propagation");
  mp.recursiveReadonly = m.flag("recursiveReadonly");
  mp.copyUp = m.flag("copyUp", false);
  mp.sourceIsFile = m.flag("sourceIsFile");
  mp.cgroupNames = m.strings("cgroupNames", false);
  mp.cgroupOptions = m.strings("cgroupOptions", false);
  mp.cgroupSources = m.strings("cgroupSources", false);
  return mp;
}

DevicePlan to_device(Fields& d) {
  DevicePlan dp;
  dp.path = d.str("path");
  dp.mode = mode_t(d.num("mode"));
  dp.dev = makedev(unsigned(d.num("major")), unsigned(d.num("minor")));
  dp.uid = uid_t(d.num("uid"));
  dp.gid = gid_t(d.num("gid"));
  dp.bindFromHost = d.flag("bindFromHost");
  return dp;
}

void to_plan(Fields& f, ContainerPlan& p) {
  p.initPath = f.str("initPath");
  p.fifoPath = f.str("fifoPath");
  p.joinExisting = f.flag("joinExisting", false);
  p.cloneFlags = (unsigned long)f.num("cloneFlags");
  p.joins = f.objects<NamespaceJoin>("joins", true, [](Fields& j) {
    int type = int(j.num("type"));
    return NamespaceJoin{type, j.str("path")};
  });
  p.joinPidfd = f.present("joinPidfd") ? int(f.num("joinPidfd")) : -1;
  p.uidMap = f.str("uidMap");
  p.gidMap = f.str("gidMap");
  p.timeOffsets = f.str("timeOffsets");
  p.preserveFds = int(f.num("preserveFds"));
  if (f.present("stdio")) {
    auto fds = f.ints("stdio");
    if (fds.size() != 3) f.reject("stdio", "must be three fds (stdin, stdout, stderr)");
    for (int i = 0; i < 3; i++) p.stdioFds[i] = fds[i];
  }
  p.cgroupPath = f.str("cgroupPath", false);
  p.cgroupTasks = f.strings("cgroupTasks", false);
  p.cgroupNamespace = f.flag("cgroupNamespace", false);
  p.cgroupDeferred = f.flag("cgroupDeferred", false);
  p.rootfs = f.str("rootfs");
  p.rootReadonly = f.flag("rootReadonly");
  p.noPivot = f.flag("noPivot");
  if (f.present("hostProcSys")) p.hostProcSys = f.strings("hostProcSys");
  p.ownMounts = !f.flag("sharesRuntimeMounts", false);
  p.rootPropagation = (unsigned long)f.num("rootPropagation");
  p.mounts = f.objects<MountPlan>("mounts", true, to_mount);
  p.devices = f.objects<DevicePlan>("devices", true, to_device);
  p.symlinks = f.objects<SymlinkPlan>("symlinks", true, [](Fields& s) {
    std::string target = s.str("target");
    return SymlinkPlan{target, s.str("linkpath")};
  });
  p.createContainerHooks = f.objects<HookPlan>("createContainerHooks", false, [](Fields& h) {
    HookPlan hp;
    hp.path = h.str("path");
    hp.args = h.strings("args");
    hp.env = h.strings("env");
    hp.timeout = unsigned(h.num("timeout"));
    return hp;
  });
  p.hookStateTemplate = f.str("hookStateTemplate", false);
  p.sysctls = f.objects<SysctlPlan>("sysctls", true, [](Fields& s) {
    std::string path = s.str("path");
    return SysctlPlan{path, s.str("value")};
  });
  p.readonlyPaths = f.strings("readonlyPaths");
  p.maskedPaths = f.strings("maskedPaths");
  p.setHostname = f.present("hostname");
  p.hostname = f.str("hostname", false);
  p.setDomainname = f.present("domainname");
  p.domainname = f.str("domainname", false);
  p.cwd = f.str("cwd");
  p.sessionKeyring = f.str("sessionKeyring", false);
  p.terminal = f.flag("terminal", false);
  p.consoleUid = uid_t(f.num("consoleUid", false));
  p.consoleGid = gid_t(f.num("consoleGid", false));
  p.consoleSocket = f.str("consoleSocket", false);
  p.consoleRows = (unsigned short)f.num("consoleRows", false);
  p.consoleCols = (unsigned short)f.num("consoleCols", false);
  p.env = f.strings("env");
  f.finish();
}

}  // namespace

bool read_plan(const char* text, size_t len, ContainerPlan& out, std::string& error) {
  Value doc;
  std::string why;
  if (!json::parse(text, len, doc, why)) {
    error = "plan: not JSON: " + why;
    return false;
  }
  if (doc.kind != Value::Object) {
    error = "plan: must be an object";
    return false;
  }
  try {
    Fields f(doc, "plan");
    to_plan(f, out);
  } catch (const Refused& r) {
    error = r.message;
    return false;
  }
  return true;
}

}  // namespace ocirun
