// The control words of the stub's argv, and the lookup of the executable in the container.
#include "init.h"

namespace init {

int sync_fd = -1;

void fail(const char* step, const char* syscall, const char* path, int err, const char* detail) {
  if (sync_fd >= 0) {
    SyncMsg m = {};
    m.type = ocirun::kSyncError;
    ocirun::set_step(m.error, step);
    ocirun::fail(m.error, syscall, path, err);
    ocirun::copy_str(m.error.detail, sizeof m.error.detail, detail);
    send(sync_fd, &m, sizeof m, MSG_NOSIGNAL);
  } else {
    // After `start` the runtime is no longer listening: the process's stderr is all there is.
    dprintf(2, "ocirun-init: %s: %s %s: %s%s%s\n", step, syscall, path, strerror(err), *detail ? ": " : "", detail);
  }
  _exit(127);
}

int hexval(char ch) { return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10; }

namespace {

// Decodes hex in place up to the first character that is not hex; returns the end of what was read.
char* unhex(char* s) {
  char* out = s;
  char* in = s;
  while (isxdigit((unsigned char)in[0]) && isxdigit((unsigned char)in[1])) {
    *out++ = char(hexval(in[0]) << 4 | hexval(in[1]));
    in += 2;
  }
  char* end = in;
  *out = 0;
  return end;
}

// "timeout:path:arg,arg,...:env,env,..." with every string hex-encoded (so no separator can clash).
void parse_hook(char* v, Hook& h) {
  h.timeout = unsigned(strtoul(v, &v, 10));
  if (*v++ != ':') fail("init-args", "parse", "hook", EINVAL);
  char* end = unhex(v);
  h.path = v;
  char** lists[2] = {h.argv, h.envp};
  for (char** list : lists) {
    if (*end != ':') fail("init-args", "parse", "hook", EINVAL);
    v = end + 1;
    size_t n = 0;
    while (isxdigit((unsigned char)*v) && n < 63) {
      end = unhex(v);
      list[n++] = v;
      if (*end != ',') break;
      v = end + 1;
    }
    if (!n) end = v;  // an empty list
    list[n] = nullptr;
  }
  if (!h.argv[0]) {
    h.argv[0] = h.path;
    h.argv[1] = nullptr;
  }
}

}  // namespace

void parse(int argc, char** argv, Control& c) {
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    char* word = argv[i];
    char* eq = strchr(word, '=');
    if (!eq) fail("init-args", "parse", word, EINVAL);
    *eq = 0;
    const char* v = eq + 1;
    if (!strcmp(word, "sync")) c.sync_fd = sync_fd = atoi(v);
    else if (!strcmp(word, "fifo")) c.fifo_fd = atoi(v);
    else if (!strcmp(word, "uid")) c.uid = uid_t(strtoul(v, nullptr, 10));
    else if (!strcmp(word, "gid")) c.gid = gid_t(strtoul(v, nullptr, 10));
    else if (!strcmp(word, "groups")) {
      for (char* p = const_cast<char*>(v); *p && c.ngroups < NGROUPS_MAX;) {
        c.groups[c.ngroups++] = gid_t(strtoul(p, &p, 10));
        if (*p == ',') p++;
      }
    } else if (!strcmp(word, "umask")) c.umask_value = strtol(v, nullptr, 8);
    else if (!strcmp(word, "nnp")) c.no_new_privs = v[0] == '1';
    else if (!strcmp(word, "caps")) {  // bounding,effective,permitted,inheritable,ambient in hex
      c.set_caps = true;
      char* p = const_cast<char*>(v);
      for (int k = 0; k < 5 && *p; k++) {
        c.caps[k] = strtoull(p, &p, 16);
        if (*p == ',') p++;
      }
    } else if (!strcmp(word, "rlimit") && c.nrlimits < RLIM_NLIMITS) {  // resource:soft:hard
      char* p = const_cast<char*>(v);
      Rlimit& r = c.rlimits[c.nrlimits++];
      r.resource = int(strtol(p, &p, 10));
      r.soft = strtoull(p + 1, &p, 10);
      r.hard = strtoull(p + 1, &p, 10);
    } else if (!strcmp(word, "preserve")) c.preserve_fds = atoi(v);
    else if (!strcmp(word, "ioprio")) {  // class:level
      char* p = const_cast<char*>(v);
      c.ioprio_class = int(strtol(p, &p, 10));
      c.ioprio_level = int(strtol(p + 1, nullptr, 10));
    } else if (!strcmp(word, "sched")) {  // policy:nice:priority:flags:runtime:deadline:period
      c.set_sched = true;
      char* p = const_cast<char*>(v);
      for (int k = 0; k < 7 && *p; k++) {
        c.sched[k] = uint64_t(strtoll(p, &p, 10));
        if (*p == ':') p++;
      }
    } else if (!strcmp(word, "cpus.initial")) c.cpus_initial = v;
    else if (!strcmp(word, "cpus.final")) c.cpus_final = v;
    else if (!strcmp(word, "personality")) c.personality_domain = strtol(v, nullptr, 10);
    else if (!strcmp(word, "apparmor")) c.apparmor = v;
    else if (!strcmp(word, "selinux")) c.selinux = v;
    else if (!strcmp(word, "seccomp")) c.seccomp_hex = v;
    else if (!strcmp(word, "hook.start") && c.nhooks < 16) parse_hook(const_cast<char*>(v), c.hooks[c.nhooks++]);
    else if (!strcmp(word, "hook.state")) {
      c.hook_state = const_cast<char*>(v);
      unhex(c.hook_state);
    }
    else if (!strcmp(word, "seccomp.flags")) c.seccomp_flags = unsigned(strtoul(v, nullptr, 10));
    else fail("init-args", "parse", word, EINVAL);
  }
  if (i + 1 >= argc) fail("init-args", "parse", "--", EINVAL, "no process args");
  c.args = argv + i + 1;
}

static bool is_executable_file(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

// Like execvp's search, but done before the wait so that `create` reports a missing executable.
void resolve(const char* name, char* out, size_t cap) {
  char detail[256];
  if (strchr(name, '/')) {
    snprintf(out, cap, "%s", name);
    if (is_executable_file(out)) return;
    snprintf(detail, sizeof detail, "exec: \"%s\": stat %s: %s", name, name, strerror(errno ? errno : EACCES));
    fail("exec-lookup", "stat", name, errno ? errno : EACCES, detail);
  }
  const char* path = getenv("PATH");
  if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const char* p = path;;) {
    const char* end = strchrnul(p, ':');
    int len = int(end - p);
    snprintf(out, cap, "%.*s%s%s", len, p, len ? "/" : "", name);
    if (is_executable_file(out)) return;
    if (!*end) break;
    p = end + 1;
  }
  snprintf(detail, sizeof detail, "exec: \"%s\": executable file not found in $PATH", name);
  fail("exec-lookup", "lookup", name, ENOENT, detail);
}

}  // namespace init
