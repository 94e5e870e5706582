// Privileges, in runc's order: the seccomp filter, then the bounding set, ids, capabilities, no_new_privs.
#include "init.h"

namespace init {

// Installs the filter; returns its notify fd when the flags ask for a listener, else -1.
int install_seccomp(const Control& c) {
  // The parser checked the length (a whole number of instructions, at most BPF_MAXINSNS).
  struct sock_fprog prog = {(unsigned short)(c.seccomp_len / sizeof(struct sock_filter)),
                            (struct sock_filter*)const_cast<unsigned char*>(c.seccomp)};
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, c.seccomp_flags, &prog);
  if (fd < 0) fail(ocirun::kStepSeccomp, "seccomp(SECCOMP_SET_MODE_FILTER)", "", errno);
  return (c.seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) ? int(fd) : -1;
}

static int capset_all(const uint64_t* caps) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; i++) {
    data[i].effective = uint32_t(caps[kEffective] >> (32 * i));
    data[i].permitted = uint32_t(caps[kPermitted] >> (32 * i));
    data[i].inheritable = uint32_t(caps[kInheritable] >> (32 * i));
  }
  return int(syscall(SYS_capset, &hdr, data));
}

// Whether this user namespace denies setgroups (its /proc/self/setgroups says "deny": one made by an
// unprivileged user, or joined from one).
static bool setgroups_denied() {
  int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[8] = {};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n >= 4 && buf[0] == 'd' && buf[1] == 'e' && buf[2] == 'n' && buf[3] == 'y';
}

void drop_privileges(const Control& c) {
  if (c.set_caps)
    for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
      if (!(c.caps[kBounding] >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
        fail(ocirun::kStepCapabilities, "prctl(PR_CAPBSET_DROP)", "", errno);
  // Keep the capabilities across the uid change; capset below sets the final ones.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(ocirun::kStepUser, "prctl(PR_SET_KEEPCAPS)", "", errno);
  // Where setgroups is denied no group list can be set, and the process keeps the one it has, as runc leaves it.
  if (setgroups(c.ngroups, c.groups) < 0) {
    int err = errno;
    if (err != EPERM || !setgroups_denied()) fail(ocirun::kStepUser, "setgroups", "", err);
  }
  if (setresgid(c.gid, c.gid, c.gid) < 0) fail(ocirun::kStepUser, "setresgid", "", errno);
  if (setresuid(c.uid, c.uid, c.uid) < 0) fail(ocirun::kStepUser, "setresuid", "", errno);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail(ocirun::kStepUser, "prctl(PR_SET_KEEPCAPS)", "", errno);
  if (c.set_caps) {
    if (capset_all(c.caps) < 0) fail(ocirun::kStepCapabilities, "capset", "", errno);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    // The kernel keeps an ambient capability only while it is permitted and inheritable; like runc, the
    // others are left out rather than failing (runc's own default config lists ambient without inheritable).
    const uint64_t ambient = c.caps[kAmbient] & c.caps[kPermitted] & c.caps[kInheritable];
    for (int cap = 0; cap < 64; cap++)
      if ((ambient >> cap & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
        fail(ocirun::kStepCapabilities, "prctl(PR_CAP_AMBIENT_RAISE)", "", errno);
  }
  if (c.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(ocirun::kStepNoNewPrivileges, "prctl", "", errno);
  if (c.umask_value >= 0) umask(mode_t(c.umask_value));
}

}  // namespace init
