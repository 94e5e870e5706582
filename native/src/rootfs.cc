#include "rootfs.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "copy_tree.h"
#include "fmt.h"
#include "procfs.h"
#include "safe_path.h"

namespace ocirun {

namespace {

constexpr unsigned long kLockableFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY;
constexpr unsigned kMoveMountFEmptyPath = 0x04, kMoveMountTEmptyPath = 0x40;  // <linux/mount.h>

// Flags a remount must keep: in a user namespace the kernel refuses to drop nosuid/nodev/noexec/ro that the
// mount already had ("locked" flags), so read them back from the mount itself.
unsigned long current_mount_flags(const char* path) {
  struct statvfs st;
  if (statvfs(path, &st) < 0) return 0;
  unsigned long f = 0;
  if (st.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) f |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (st.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (st.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

// A bind remounted with exactly `flags` (runc's "mount --bind -o" reading: what is not asked for is cleared,
// the atime flags excepted, which the kernel keeps unless one is given). Refused (EPERM: a user namespace
// locks the flags a mount came with), it is retried with the locked flags kept, unless the options clear one
// of them explicitly (`cleared`): that cannot be done, and the error says so.
int remount_bind(const char* target, unsigned long flags, SysError& e, unsigned long cleared = 0) {
  if (mount(nullptr, target, nullptr, MS_REMOUNT | MS_BIND | flags, nullptr) == 0) return 0;
  int err = errno;
  unsigned long locked = current_mount_flags(target) & kLockableFlags;
  if (err == EPERM && !(locked & cleared) &&
      mount(nullptr, target, nullptr, MS_REMOUNT | MS_BIND | flags | locked, nullptr) == 0)
    return 0;
  fail(e, "mount(MS_REMOUNT|MS_BIND)", target, err);
  if (err == EPERM && (locked & cleared))
    copy_str(e.detail, sizeof e.detail,
             "mount(MS_REMOUNT|MS_BIND): operation not permitted: the options clear a flag (ro, nosuid, nodev or noexec) "
             "that the source mount has locked in this user namespace");
  return -1;
}

int set_recursive_readonly(int fd, const char* dest, SysError& e) {
  struct {
    unsigned long long attr_set, attr_clr, propagation, userns_fd;
  } attr = {1 /* MOUNT_ATTR_RDONLY */, 0, 0, 0};
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | 0x8000 /* AT_RECURSIVE */, &attr, sizeof attr) < 0)
    return fail(e, "mount_setattr(MOUNT_ATTR_RDONLY)", dest);
  return 0;
}

// A tmpfs with one cgroup v1 hierarchy under it per host hierarchy: what a "cgroup" mount means on a v1 or
// hybrid host. Each sub-mount shows the container's cgroup namespace root.
// `host` bound at `dest` (open as `dest_fd`), then remounted with the nosuid/nodev/noexec/ro of `flags`.
int bind_with_flags(const char* host, int root_fd, const char* dest, int dest_fd, unsigned long flags, SysError& e) {
  if (mount(host, FdPath(dest_fd).c_str(), nullptr, MS_BIND, nullptr) < 0) return fail(e, "mount(MS_BIND)", host);
  int fd = open_in_root(root_fd, dest, e);  // the bind mount, not the directory under it
  if (fd < 0) return -1;
  const unsigned long keep = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  int rc = remount_bind(FdPath(fd).c_str(), flags & keep, e);
  close(fd);
  return rc;
}

int mount_cgroup_v1_tree(const MountPlan& m, int root_fd, const char* target, SysError& e) {  // target: fd path
  unsigned long base = m.flags & ~MS_RDONLY;
  if (mount("tmpfs", target, "tmpfs", base, "mode=755") < 0) return fail(e, "mount(tmpfs)", m.destination.c_str());
  char sub[PATH_MAX];
  for (size_t i = 0; i < m.cgroupNames.size(); i++) {
    size_t n = append_str(sub, 0, sizeof sub, m.destination.c_str());
    n = append_str(sub, n, sizeof sub, "/");
    append_str(sub, n, sizeof sub, m.cgroupNames[i].c_str());
    int fd = mkdir_all_in_root(root_fd, sub, 0755, e);
    if (fd < 0) return -1;
    FdPath at(fd);
    const bool unified = m.cgroupOptions[i].empty();
    const char* source = i < m.cgroupSources.size() ? m.cgroupSources[i].c_str() : "";
    int rc;
    if (*source) {  // the container's own cgroup, bound from the host's hierarchy, then given the mount's flags
      rc = mount(source, at.c_str(), nullptr, MS_BIND, nullptr);
      if (rc == 0) {
        close(fd);
        if ((fd = open_in_root(root_fd, sub, e)) < 0) return -1;  // the bind mount, not the directory under it
        FdPath bound(fd);
        const unsigned long keep = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
        if (mount(nullptr, bound.c_str(), nullptr, MS_REMOUNT | MS_BIND | (m.flags & keep), nullptr) < 0) {
          close(fd);
          return fail(e, "mount(MS_REMOUNT)", sub);
        }
      }
    } else {
      rc = mount("cgroup", at.c_str(), unified ? "cgroup2" : "cgroup", m.flags, unified ? nullptr : m.cgroupOptions[i].c_str());
      if (rc < 0 && errno == EPERM) {
        // A user namespace that may not mount this hierarchy (rootless, no cgroup namespace of its own):
        // the host's, bound read-only, as crun does rootless.
        char host[PATH_MAX];
        append_str(host, append_str(host, 0, sizeof host, "/sys/fs/cgroup/"), sizeof host, m.cgroupNames[i].c_str());
        rc = bind_with_flags(host, root_fd, sub, fd, m.flags | MS_RDONLY, e);
        close(fd);
        if (rc < 0) return -1;
        continue;
      }
    }
    close(fd);
    if (rc < 0) return fail(e, *source ? "mount(MS_BIND)" : unified ? "mount(cgroup2)" : "mount(cgroup)", *source ? source : sub);
  }
  if (!(m.flags & MS_RDONLY)) return 0;
  int fd = open_in_root(root_fd, m.destination.c_str(), e);  // the tmpfs now, not the dir under it
  if (fd < 0) return -1;
  FdPath tmpfs(fd);
  int rc = mount(nullptr, tmpfs.c_str(), nullptr, MS_REMOUNT | m.flags, "mode=755");
  close(fd);
  return rc < 0 ? fail(e, "mount(MS_REMOUNT)", m.destination.c_str()) : 0;
}

// proc and sysfs go on a real directory: an image whose /proc is a link would get the kernel's files wherever
// the link points (runc refuses it the same way).
int refuse_symlinked_destination(const MountPlan& m, int root_fd, SysError& e) {
  const char* type = m.type.c_str();
  if (m.kind != MountPlan::kFilesystem || (strcmp(type, "proc") != 0 && strcmp(type, "sysfs") != 0)) return 0;
  char base[NAME_MAX + 1];
  int dir = open_parent_in_root(root_fd, m.destination.c_str(), base, sizeof base, e);
  if (dir < 0) return -1;
  struct stat st;
  int rc = 0;
  if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
    rc = fail(e, "fstatat", "", ELOOP);  // the context names the mount and its destination
    copy_str(e.detail, sizeof e.detail, "is a symlink in the image: proc and sysfs must be mounted on a real directory");
  }
  close(dir);
  return rc;
}

// tmpcopyup: what the image had at `dest` (`under`, opened before the mount) is copied into the new tmpfs.
int copy_up(int under, int root_fd, const char* dest, SysError& e) {
  int fd = open_in_root(root_fd, dest, e);  // the tmpfs now
  if (fd < 0) return -1;
  FdPath mounted(fd);
  int top = open(mounted.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  close(fd);
  if (top < 0) return fail(e, "open", dest);
  int rc = copy_tree(under, top, dest, e);
  close(top);
  return rc;
}

// A tmpfs without mode= takes the mode of the directory it covers, when the image has one (runc's rule); a
// directory made for it gets the kernel's default, 1777. `out` receives the data to mount with.
const char* tmpfs_data(const MountPlan& m, int root_fd, char* out, size_t cap) {
  const char* data = m.data.c_str();
  if (m.kind != MountPlan::kFilesystem || strcmp(m.type.c_str(), "tmpfs") != 0) return data;
  for (const char* p = data; (p = strstr(p, "mode=")); p++)
    if (p == data || p[-1] == ',') return data;  // the config's mode wins
  SysError ignored;
  int fd = open_in_root(root_fd, m.destination.c_str(), ignored);
  if (fd < 0) return data;
  struct stat st;
  bool dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
  close(fd);
  if (!dir) return data;
  char octal[8];
  int n = 0;
  for (unsigned v = st.st_mode & 07777; n == 0 || v; v >>= 3) octal[n++] = char('0' + (v & 7));
  size_t len = append_str(out, 0, cap, data);
  len = append_str(out, len, cap, *data ? ",mode=0" : "mode=0");
  while (n && len + 1 < cap) out[len++] = octal[--n];
  out[len] = 0;
  return out;
}

// `data` without its `key`=... option, into `out`; false when it has none. No allocation (the cloned child).
bool drop_option(const char* data, const char* key, char* out, size_t cap) {
  size_t n = 0, klen = strlen(key);
  bool dropped = false;
  for (const char* p = data; *p;) {
    const char* end = strchr(p, ',');
    size_t len = end ? size_t(end - p) : strlen(p);
    if (strncmp(p, key, klen) == 0) {
      dropped = true;
    } else {
      if (n && n + 1 < cap) out[n++] = ',';
      for (size_t i = 0; i < len && n + 1 < cap; i++) out[n++] = p[i];
    }
    p += len + (end ? 1 : 0);
  }
  out[n] = 0;
  return dropped;
}

int mount_one(const MountPlan& m, int root_fd, int source_fd, SysError& e) {
  const char* dest = m.destination.c_str();
  if (refuse_symlinked_destination(m, root_fd, e) < 0) return -1;
  char data_buf[4096];
  const char* data = tmpfs_data(m, root_fd, data_buf, sizeof data_buf);
  int fd = ensure_target_in_root(root_fd, dest, m.kind == MountPlan::kBind && m.sourceIsFile, e);
  if (fd < 0) return -1;
  int rc = 0;
  // tmpcopyup: the directory under the new tmpfs stays reachable through an fd taken before the mount.
  int under = -1;
  if (m.copyUp) {
    FdPath dir(fd);
    if ((under = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
      close(fd);
      return fail(e, "open", dest);
    }
  }
  {
    FdPath target(fd);
    switch (m.kind) {
      case MountPlan::kBind:
        if (m.idmap) {
          // The runtime's idmapped copy of the source (idmap.h), attached here.
          if (syscall(SYS_move_mount, source_fd, "", fd, "", kMoveMountFEmptyPath | kMoveMountTEmptyPath) < 0)
            rc = fail(e, "move_mount", m.source.c_str());
          break;
        }
        // By path first: a source that an earlier mount of this container made or covered is the one meant.
        // A source the container's root may not reach (a user namespace) is attached from the detached copy
        // the runtime made of it before the clone (open_tree), as runc does.
        if (mount(m.source.c_str(), target.c_str(), nullptr, MS_BIND | (m.flags & MS_REC), nullptr) < 0) {
          int err = errno;
          if (err != EACCES || source_fd < 0)
            rc = fail(e, "mount(MS_BIND)", m.source.c_str(), err);
          else if (syscall(SYS_move_mount, source_fd, "", fd, "", kMoveMountFEmptyPath | kMoveMountTEmptyPath) < 0)
            rc = fail(e, "move_mount", m.source.c_str());
        }
        break;
      case MountPlan::kFilesystem: {
        if (mount(m.source.c_str(), target.c_str(), m.type.c_str(), m.flags, *data ? data : nullptr) == 0) break;
        int err = errno;
        char without[4096];
        if ((err == EPERM || err == EBUSY) && strcmp(m.type.c_str(), "cgroup2") == 0)
          // A user namespace may not mount cgroup2 (EPERM), or not over the host's cgroup2 that an rbind of /sys
          // brought (EBUSY: the same filesystem at its own root): the container's cgroup2 directory is bound
          // read-only instead, or, when it has none, the host's whole hierarchy (runc's and crun's way).
          rc = bind_with_flags(m.cgroupSources.empty() ? "/sys/fs/cgroup" : m.cgroupSources[0].c_str(), root_fd, dest, fd, m.flags | MS_RDONLY, e);
        else if (!(err == EINVAL && strcmp(m.type.c_str(), "devpts") == 0 && drop_option(data, "gid=", without, sizeof without) &&
                   mount(m.source.c_str(), target.c_str(), m.type.c_str(), m.flags, *without ? without : nullptr) == 0))
          // (A devpts gid= that the user namespace does not map, in one joined from another user, is refused with
          // EINVAL: the pts then belong to the process's group, as with crun.)
          rc = fail(e, "mount", dest, err);
        break;
      }
      case MountPlan::kCgroupV1Tree:
        rc = mount_cgroup_v1_tree(m, root_fd, target.c_str(), e);
        break;
    }
  }
  close(fd);
  if (!rc && under >= 0) rc = copy_up(under, root_fd, dest, e);
  if (under >= 0) close(under);
  if (rc < 0) return -1;

  // The fd above still names the directory under the new mount: reopen the destination to reach the mount.
  const unsigned long remount = m.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  const bool reflag = m.kind == MountPlan::kBind && (remount || m.clearedFlags);
  if (!reflag && !m.propagation && !m.recursiveReadonly) return 0;
  fd = open_in_root(root_fd, dest, e);
  if (fd < 0) return -1;
  FdPath mounted(fd);
  if (reflag && remount_bind(mounted.c_str(), remount, e, m.clearedFlags) < 0) {
    copy_str(e.path, sizeof e.path, dest);  // not the fd path it went through
    rc = -1;
  }
  if (!rc && m.propagation && mount(nullptr, mounted.c_str(), nullptr, m.propagation, nullptr) < 0)
    rc = fail(e, "mount(propagation)", dest);
  if (!rc && m.recursiveReadonly) rc = set_recursive_readonly(fd, dest, e);
  close(fd);
  return rc;
}

}  // namespace

int prepare_rootfs(const ContainerPlan& p, SysError& e) {
  const char* rootfs = p.rootfs.c_str();
  if (!p.ownMounts) {
    // The runtime's own mount namespace: not a flag of it may change.
    int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? fail(e, "open", rootfs) : fd;
  }
  // Nothing done below may propagate to the host. A shared rootfsPropagation is applied after pivot_root
  // instead (finish_rootfs), since pivot_root refuses a new root whose parent mount is shared; so is an
  // unbindable one, since an unbindable root could not be bound onto itself below.
  const unsigned long late = MS_SHARED | MS_UNBINDABLE;
  unsigned long before = (p.rootPropagation && !(p.rootPropagation & late)) ? p.rootPropagation : MS_SLAVE | MS_REC;
  if (mount(nullptr, "/", nullptr, before, nullptr) < 0) return fail(e, "mount(rootfsPropagation)", "/");
  // pivot_root refuses a new root whose parent mount is shared; bind the rootfs onto itself so it is a mount.
  if (mount(rootfs, rootfs, nullptr, MS_BIND | MS_REC, nullptr) < 0) return fail(e, "mount(MS_BIND)", rootfs);
  if (mount(nullptr, rootfs, nullptr, MS_PRIVATE, nullptr) < 0) return fail(e, "mount(MS_PRIVATE)", rootfs);
  int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(e, "open", rootfs);
  return fd;
}

int mount_all(const ContainerPlan& p, int root_fd, const int* source_fds, SysError& e) {
  for (size_t i = 0; i < p.mounts.size(); i++)
    if (mount_one(p.mounts[i], root_fd, source_fds[i], e) < 0) return add_context(e, "/mounts/", i, p.mounts[i].destination.c_str());  // its JSON pointer: one to one
  return 0;
}

namespace {

// A device a user namespace may not mknod: the host's node of the same path, bound over an empty file.
// Everything comes from the plan as it is: the cloned child builds nothing (it may not allocate).
int bind_host_device(const DevicePlan& d, int root_fd, SysError& e) {
  const char* path = d.path.c_str();
  int fd = ensure_target_in_root(root_fd, path, true, e);
  if (fd < 0) return -1;
  FdPath target(fd);
  int rc = mount(path, target.c_str(), nullptr, MS_BIND, nullptr) < 0 ? fail(e, "mount(MS_BIND)", path) : 0;
  close(fd);
  return rc;
}

int make_device_node(const DevicePlan& d, int root_fd, SysError& e) {
  const char* path = d.path.c_str();
  char base[NAME_MAX + 1];
  int dir = open_parent_in_root(root_fd, path, base, sizeof base, e);
  if (dir < 0) return -1;
  // Replace whatever the image put there: a stale node or a symlink must not survive.
  if (unlinkat(dir, base, 0) < 0 && errno != ENOENT) {
    fail(e, "unlinkat", path);
    close(dir);
    return -1;
  }
  // The node is born with its mode (umask 0 for the one call): no chmod by name afterwards, which a racer who
  // swapped the node for a symlink could redirect to a host file. The chown does not follow links.
  mode_t old = umask(0);
  int rc = mknodat(dir, base, d.mode, d.dev) < 0 ? fail(e, "mknodat", path) : 0;
  umask(old);
  if (!rc && fchownat(dir, base, d.uid, d.gid, AT_SYMLINK_NOFOLLOW) < 0) rc = fail(e, "fchownat", path);
  close(dir);
  return rc;
}

}  // namespace

int create_devices(const ContainerPlan& p, int root_fd, SysError& e) {
  for (size_t i = 0; i < p.devices.size(); i++) {
    const DevicePlan& d = p.devices[i];
    if ((d.bindFromHost ? bind_host_device(d, root_fd, e) : make_device_node(d, root_fd, e)) < 0)
      return add_context(e, "device #", i, d.path.c_str());
  }
  return 0;
}

int create_symlinks(const ContainerPlan& p, int root_fd, SysError& e) {
  char base[NAME_MAX + 1];
  for (const auto& s : p.symlinks) {
    int dir = open_parent_in_root(root_fd, s.linkpath.c_str(), base, sizeof base, e);
    if (dir < 0) return -1;
    int rc = 0;
    unlinkat(dir, base, 0);  // a node the image left (e.g. /dev/ptmx) gives way; a directory stays
    if (symlinkat(s.target.c_str(), dir, base) < 0 && errno != EEXIST) rc = fail(e, "symlinkat", s.linkpath.c_str());
    close(dir);
    if (rc < 0) return -1;
  }
  return 0;
}

int enter_rootfs(const ContainerPlan& p, int root_fd, SysError& e) {
  const char* rootfs = p.rootfs.c_str();
  if (fchdir(root_fd) < 0) return fail(e, "fchdir", rootfs);
  if (!p.ownMounts) {
    // No mount namespace of its own: the rootfs becomes its root by chroot, which needs no mount.
    if (chroot(".") < 0) return fail(e, "chroot", rootfs);
    if (chdir("/") < 0) return fail(e, "chdir", "/");
    return 0;
  }
  if (p.noPivot) {
    // The runtime's own proc and sysfs stay in this mount namespace below the chroot, where a process that
    // may mount could reach them (the kernel lets it mount proc while a whole one is there): detached first,
    // or covered with a tmpfs where they cannot be, as runc does. Nothing of this propagates back.
    for (const auto& m : p.hostProcSys) {
      const char* at = m.c_str();
      if (mount(nullptr, at, nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
        if (errno == ENOENT) continue;  // under one detached already
        return fail(e, "mount(MS_SLAVE)", at);
      }
      if (umount2(at, MNT_DETACH) == 0) continue;
      if (errno != EINVAL && errno != EPERM) return fail(e, "umount2", at);
      if (mount("tmpfs", at, "tmpfs", 0, nullptr) < 0) return fail(e, "mount(tmpfs)", at);
    }
    if (mount(rootfs, "/", nullptr, MS_MOVE, nullptr) < 0) return fail(e, "mount(MS_MOVE)", rootfs);
    if (chroot(".") < 0) return fail(e, "chroot", rootfs);
    if (chdir("/") < 0) return fail(e, "chdir", "/");
    return 0;
  }
  // pivot_root(".", "."): the old root ends up stacked on top of the new one. Step into it through an fd
  // taken before (for mount(2), "." would still name the new root), make it a slave so that detaching it
  // cannot propagate to the host, and detach it.
  int old_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (old_root < 0) return fail(e, "open", "/");
  int rc = 0;
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    rc = fail(e, "pivot_root", rootfs);
  else if (fchdir(old_root) < 0)
    rc = fail(e, "fchdir", "old root");
  else if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    rc = fail(e, "mount(MS_SLAVE)", "old root");
  else if (umount2(".", MNT_DETACH) < 0)
    rc = fail(e, "umount2", "old root");
  else if (chdir("/") < 0)
    rc = fail(e, "chdir", "/");
  close(old_root);
  return rc;
}

namespace {

// Runs fn(fd, path) for each path that exists inside the (new) root; missing ones are skipped.
template <typename Fn>
int for_existing(const std::vector<std::string>& paths, SysError& e, Fn fn) {
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return fail(e, "open", "/");
  int rc = 0;
  for (const auto& path : paths) {
    SysError lookup;
    int fd = open_in_root(root, path.c_str(), lookup);
    if (fd < 0) {
      if (lookup.err == ENOENT) continue;
      e = lookup;
      rc = -1;
      break;
    }
    rc = fn(fd, path.c_str());
    close(fd);
    if (rc < 0) break;
  }
  close(root);
  return rc;
}

}  // namespace

int write_sysctls(const ContainerPlan& p, SysError& e) {
  if (p.sysctls.empty()) return 0;
  int proc = open_procfs("/proc", e);
  if (proc < 0) return -1;
  int rc = 0;
  for (const auto& s : p.sysctls) {
    const char* path = s.path.c_str();  // "/proc/sys/...": opened beneath the container's procfs
    int fd = open_proc_file(proc, path + sizeof "/proc/" - 1, O_WRONLY, path, e);
    if (fd < 0) {
      rc = -1;
      break;
    }
    ssize_t n = write(fd, s.value.data(), s.value.size());
    int err = errno;
    close(fd);
    if (n != ssize_t(s.value.size())) {
      rc = fail(e, "write", path, n < 0 ? err : EIO);
      break;
    }
  }
  close(proc);
  return rc;
}

int make_readonly_paths(const ContainerPlan& p, SysError& e) {
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return fail(e, "open", "/");
  int rc = for_existing(p.readonlyPaths, e, [&](int fd, const char* path) {
    FdPath at(fd);
    if (mount(at.c_str(), at.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) return fail(e, "mount(MS_BIND)", path);
    int bound = open_in_root(root, path, e);  // the new bind mount, not what it covers
    if (bound < 0) return -1;
    FdPath mounted(bound);
    int r = remount_bind(mounted.c_str(), MS_RDONLY | (current_mount_flags(mounted.c_str()) & ~MS_RDONLY), e);
    close(bound);
    return r;
  });
  close(root);
  return rc;
}

namespace {

// The container's /dev/null, checked to be the 1:3 character device: an image or a racer that made it a
// link to a host file (/proc/sys/kernel/core_pattern, CVE-2025-31133) must not get that file bound over the
// masked paths. Every mask is bound from this one fd.
int open_dev_null(SysError& e) {
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return fail(e, "open", "/");
  int fd = open_in_root(root, "/dev/null", e);
  close(root);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    fail(e, "fstat", "/dev/null");
  } else if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
    fail(e, "fstat", "/dev/null", EPERM);
    copy_str(e.detail, sizeof e.detail, "/dev/null is not the null device (1:3): refusing to mask paths with it");
  } else {
    return fd;
  }
  close(fd);
  return -1;
}

}  // namespace

int mask_paths(const ContainerPlan& p, SysError& e) {
  if (p.maskedPaths.empty()) return 0;
  int null_fd = -1;
  int tmpfs_fd = -1;  // the one read-only tmpfs every masked directory shows (runc >= 1.4.3, crun >= 1.24)
  int rc = for_existing(p.maskedPaths, e, [&](int fd, const char* path) {
    struct stat st;
    if (fstat(fd, &st) < 0) return fail(e, "fstat", path);
    FdPath at(fd);
    if (S_ISDIR(st.st_mode)) {
      if (tmpfs_fd >= 0) {
        FdPath shared(tmpfs_fd);
        if (mount(shared.c_str(), at.c_str(), nullptr, MS_BIND, nullptr) < 0) return fail(e, "mount(MS_BIND)", path);
        return 0;
      }
      if (mount("tmpfs", at.c_str(), "tmpfs", MS_RDONLY, nullptr) < 0) return fail(e, "mount(tmpfs)", path);
      int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (root < 0) return fail(e, "open", "/");
      tmpfs_fd = open_in_root(root, path, e);  // the tmpfs now, not the directory under it
      close(root);
      return tmpfs_fd < 0 ? -1 : 0;
    }
    if (null_fd < 0 && (null_fd = open_dev_null(e)) < 0) return -1;
    FdPath null_path(null_fd);
    if (mount(null_path.c_str(), at.c_str(), nullptr, MS_BIND, nullptr) < 0) return fail(e, "mount(/dev/null)", path);
    return 0;
  });
  if (null_fd >= 0) close(null_fd);
  if (tmpfs_fd >= 0) close(tmpfs_fd);
  return rc;
}

int finish_rootfs(const ContainerPlan& p, SysError& e) {
  if (!p.ownMounts) return 0;  // the plan asks for nothing here (refused when it did)
  if (p.rootPropagation && mount(nullptr, "/", nullptr, p.rootPropagation, nullptr) < 0)
    return fail(e, "mount(rootfsPropagation)", "/");
  if (!p.rootReadonly) return 0;
  return remount_bind("/", MS_RDONLY | (current_mount_flags("/") & ~MS_RDONLY), e);
}

}  // namespace ocirun
