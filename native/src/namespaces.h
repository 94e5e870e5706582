// Namespaces: the table of kinds, the parent-side check of a path to join, and the child-side setns/unshare.
#pragma once

#include <vector>

#include "error.h"
#include "plan.h"

namespace ocirun {

// Name of a CLONE_NEW* flag as used in /proc/PID/ns ("net", "mnt", ...).
const char* ns_name(int clone_flag);

// Parent side: opens every namespace to join and checks its kind (ioctl NS_GET_NSTYPE), so that a path to a
// namespace of another type fails before clone with the path named. fds[i] belongs to joins[i].
int open_join_fds(const std::vector<NamespaceJoin>& joins, std::vector<int>& fds, SysError& e);

// Child side: setns into each joined namespace, in plan order (user first, so the others are joined with the
// privileges the joined user namespace grants).
int join_namespaces(const ContainerPlan& p, const int* fds, SysError& e);

}  // namespace ocirun
