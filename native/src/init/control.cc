// The control words of the stub's argv, and the lookup of the executable in the container.
#include "init.h"

namespace init {

int sync_fd = -1;

void fail(ocirun::Step step, const char* syscall, const char* path, int err, const char* detail) {
  if (sync_fd >= 0) {
    SyncMsg m = {};
    m.type = ocirun::kSyncError;
    ocirun::set_step(m.error, step);
    ocirun::fail(m.error, syscall, path, err);
    ocirun::copy_str(m.error.detail, sizeof m.error.detail, detail);
    send(sync_fd, &m, sizeof m, MSG_NOSIGNAL);
  } else {
    // After `start` the runtime is no longer listening: the process's stderr is all there is.
    dprintf(2, "ocirun-init: %s: %s %s: %s%s%s\n", ocirun::step_name(step), syscall, path, strerror(err), *detail ? ": " : "", detail);
  }
  _exit(127);
}

namespace {

// The tags that may appear once; a second record of one is an error.
bool single_valued(uint32_t tag) {
  using namespace ocirun;
  return tag != kCtlArg && tag != kCtlGroup && tag != kCtlRlimit && tag != kCtlHook && tag != kCtlHookArg &&
         tag != kCtlHookEnv;
}

// A record's payload, checked against the size its tag needs.
struct Record {
  uint32_t tag, len;
  const unsigned char* data;
  uint32_t u32(size_t i) const {
    uint32_t v;
    memcpy(&v, data + 4 * i, 4);
    return v;
  }
  uint64_t u64(size_t off) const {
    uint64_t v;
    memcpy(&v, data + off, 8);
    return v;
  }
};

[[noreturn]] void bad(const Record& r, const char* why) {
  char path[32];
  snprintf(path, sizeof path, "record tag %u", r.tag);
  fail(ocirun::kStepInitControl, "parse", path, EPROTO, why);
}

void expect_len(const Record& r, uint32_t len) {
  if (r.len != len) bad(r, "wrong length");
}

// A string record: its bytes end with the one NUL it has.
char* text(const Record& r, size_t skip = 0) {
  if (r.len <= skip || r.data[r.len - 1] != 0 || strlen(reinterpret_cast<const char*>(r.data + skip)) != r.len - skip - 1)
    bad(r, "not a string");
  return const_cast<char*>(reinterpret_cast<const char*>(r.data + skip));
}

void apply(const Record& r, Control& c, size_t& nargs) {
  using namespace ocirun;
  switch (r.tag) {
    case kCtlArg: c.args[nargs++] = text(r); break;
    case kCtlUid: expect_len(r, 4), c.uid = r.u32(0); break;
    case kCtlGid: expect_len(r, 4), c.gid = r.u32(0); break;
    case kCtlGroup:
      expect_len(r, 4);
      if (c.ngroups >= NGROUPS_MAX) bad(r, "too many groups");
      c.groups[c.ngroups++] = r.u32(0);
      break;
    case kCtlCaps:
      expect_len(r, 40);
      c.set_caps = true;
      for (int k = 0; k < 5; k++) c.caps[k] = r.u64(8 * k);
      break;
    case kCtlNoNewPrivs: expect_len(r, 0), c.no_new_privs = true; break;
    case kCtlUmask: expect_len(r, 4), c.umask_value = r.u32(0) & 07777; break;
    case kCtlRlimit: {
      expect_len(r, 20);
      if (c.nrlimits >= RLIM_NLIMITS || r.u32(0) >= RLIM_NLIMITS) bad(r, "bad rlimit");
      Rlimit& l = c.rlimits[c.nrlimits++];
      l.resource = int(r.u32(0));
      l.soft = r.u64(4);
      l.hard = r.u64(12);
      break;
    }
    case kCtlIoprio: expect_len(r, 8), c.ioprio_class = int(r.u32(0)), c.ioprio_level = int(r.u32(1)); break;
    case kCtlSched:
      expect_len(r, 56);
      c.set_sched = true;
      for (int k = 0; k < 7; k++) c.sched[k] = r.u64(8 * k);
      break;
    case kCtlCpusInitial: c.cpus_initial = text(r); break;
    case kCtlCpusFinal: c.cpus_final = text(r); break;
    case kCtlPersonality: expect_len(r, 4), c.personality_domain = long(r.u32(0)); break;
    case kCtlApparmor: c.apparmor = text(r); break;
    case kCtlSelinux: c.selinux = text(r); break;
    case kCtlSeccomp:
      if (!r.len || r.len % sizeof(struct sock_filter) || r.len / sizeof(struct sock_filter) > BPF_MAXINSNS)
        bad(r, "not a BPF program");
      c.seccomp = r.data;
      c.seccomp_len = r.len;
      break;
    case kCtlSeccompFlags: expect_len(r, 4), c.seccomp_flags = r.u32(0); break;
    case kCtlHook: {
      if (c.nhooks >= 16) bad(r, "too many hooks");
      Hook& h = c.hooks[c.nhooks++];
      if (r.len < 5) bad(r, "wrong length");
      h.timeout = r.u32(0);
      h.path = text(r, 4);
      c.hook_args = c.hook_env = 0;
      break;
    }
    case kCtlHookArg:
    case kCtlHookEnv: {
      if (!c.nhooks) bad(r, "no hook before it");
      Hook& h = c.hooks[c.nhooks - 1];
      size_t& n = r.tag == kCtlHookArg ? c.hook_args : c.hook_env;
      if (n >= 63) bad(r, "too many entries");
      (r.tag == kCtlHookArg ? h.argv : h.envp)[n++] = text(r);
      break;
    }
    case kCtlHookState: c.hook_state = text(r); break;
    case kCtlPreserveFds: expect_len(r, 4), c.preserve_fds = int(r.u32(0)); break;
    case kCtlFifo: expect_len(r, 0), c.fifo_fd = c.sync_fd + 1; break;
    case kCtlMemoryPolicy:
      if (r.len < 12 || (r.len - 4) % 8) bad(r, "wrong length");
      c.set_mempolicy = true;
      c.mempolicy_mode = r.u32(0);
      c.mempolicy_mask = r.data + 4;
      c.mempolicy_words = (r.len - 4) / 8;
      break;
    default: bad(r, "unknown tag");
  }
}

// Walks the records: with `c` null it only checks the framing and counts the args.
size_t walk(const unsigned char* msg, size_t size, Control* c) {
  size_t nargs = 0;
  uint64_t seen = 0;
  for (size_t off = 0; off < size;) {
    Record r;
    if (size - off < 8) fail(ocirun::kStepInitControl, "parse", "control message", EPROTO, "truncated record header");
    memcpy(&r.tag, msg + off, 4);
    memcpy(&r.len, msg + off + 4, 4);
    if (r.len > size - off - 8) fail(ocirun::kStepInitControl, "parse", "control message", EPROTO, "truncated record");
    r.data = msg + off + 8;
    off += 8 + size_t(r.len);
    if (!c) {
      if (r.tag == ocirun::kCtlArg) nargs++;
      if (r.tag == 0 || r.tag > ocirun::kCtlLast) bad(r, "unknown tag");
      if (single_valued(r.tag) && (seen >> r.tag & 1)) bad(r, "given twice");
      seen |= uint64_t(1) << r.tag;
      continue;
    }
    apply(r, *c, nargs);
  }
  return nargs;
}

}  // namespace

void parse(int argc, char** argv, Control& c) {
  // argv: "ocirun-init <sync fd>", nothing else.
  char* end = nullptr;
  long fd = argc == 2 ? strtol(argv[1], &end, 10) : -1;
  if (fd < 3 || fd > INT32_MAX || !end || *end) fail(ocirun::kStepInitArgs, "parse", argc > 1 ? argv[1] : "", EINVAL, "usage: ocirun-init SYNC-FD");
  c.sync_fd = sync_fd = int(fd);
  SyncMsg m = {};
  m.type = ocirun::kSyncControl;
  if (send(c.sync_fd, &m, sizeof m, MSG_NOSIGNAL) != sizeof m) _exit(1);
  int memfd = -1;
  ssize_t n;
  while ((n = ocirun::recv_with_fd(c.sync_fd, &m, sizeof m, &memfd)) < 0 && errno == EINTR) {
  }
  if (n != sizeof m || m.type != ocirun::kSyncControl || memfd < 0) _exit(1);
  struct stat st;
  if (fstat(memfd, &st) < 0 || st.st_size <= 0) fail(ocirun::kStepInitControl, "fstat", "control message", errno ? errno : EPROTO);
  void* map = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, memfd, 0);
  if (map == MAP_FAILED) fail(ocirun::kStepInitControl, "mmap", "control message", errno);
  close(memfd);
  const unsigned char* msg = static_cast<const unsigned char*>(map);
  size_t size = size_t(st.st_size);
  size_t nargs = walk(msg, size, nullptr);
  if (!nargs) fail(ocirun::kStepInitControl, "parse", "control message", EPROTO, "no process args");
  c.args = static_cast<char**>(calloc(nargs + 1, sizeof(char*)));
  if (!c.args) fail(ocirun::kStepInitControl, "calloc", "args", ENOMEM);
  walk(msg, size, &c);
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
    // runc's words (people and scripts match them): "exec /run.sh: no such file or directory".
    int err = errno ? errno : EACCES;
    snprintf(detail, sizeof detail, "exec %s: %s", name, strerror(err));
    char* reason = strstr(detail, ": ") + 2;
    *reason = char(tolower((unsigned char)*reason));  // Go's lower-case error text
    fail(ocirun::kStepExecLookup, "stat", name, err, detail);
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
  fail(ocirun::kStepExecLookup, "lookup", name, ENOENT, detail);
}

}  // namespace init
