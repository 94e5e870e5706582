#include "namespaces.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

namespace ocirun {

namespace {
struct NsKind {
  int flag;
  const char* name;
};
constexpr NsKind kKinds[] = {
    {CLONE_NEWUSER, "user"}, {CLONE_NEWPID, "pid"},       {CLONE_NEWNET, "net"},   {CLONE_NEWIPC, "ipc"},
    {CLONE_NEWUTS, "uts"},   {CLONE_NEWCGROUP, "cgroup"}, {CLONE_NEWNS, "mnt"},    {CLONE_NEWTIME, "time"},
};
}  // namespace

const char* ns_name(int clone_flag) {
  for (const auto& k : kKinds)
    if (k.flag == clone_flag) return k.name;
  return "unknown";
}

int open_join_fds(const std::vector<NamespaceJoin>& joins, std::vector<int>& fds, SysError& e) {
  for (const auto& j : joins) {
    int fd = open(j.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(e, "open", j.path.c_str());
    fds.push_back(fd);
    int type = ioctl(fd, NS_GET_NSTYPE);
    if (type < 0) return fail(e, "ioctl(NS_GET_NSTYPE)", j.path.c_str());
    if (type != j.type) {
      fail(e, "ioctl(NS_GET_NSTYPE)", j.path.c_str(), EINVAL);
      copy_str(e.detail, sizeof e.detail, "namespace path is not a ");
      size_t n = strlen(e.detail);
      copy_str(e.detail + n, sizeof e.detail - n, ns_name(j.type));
      n = strlen(e.detail);
      copy_str(e.detail + n, sizeof e.detail - n, " namespace");
      return -1;
    }
  }
  return 0;
}

int join_namespaces(const ContainerPlan& p, const int* fds, SysError& e) {
  for (size_t i = 0; i < p.joins.size(); i++)
    if (setns(fds[i], p.joins[i].type) < 0) return fail(e, "setns", p.joins[i].path.c_str());
  return 0;
}

}  // namespace ocirun
