// The flat, already-validated plan the TypeScript side hands to the native core (see lib/native.ts and
// lib/config/plan.ts). Everything here is prepared by the parent: the cloned child only reads it, so every
// string is built before clone and the child never allocates.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ocirun {

struct NamespaceJoin {
  int type;  // CLONE_NEW* of the namespace
  std::string path;
};

struct MountPlan {
  enum Kind { kFilesystem = 0, kBind = 1, kCgroupV1Tree = 2 };
  Kind kind = kFilesystem;
  std::string source;
  std::string destination;  // absolute inside the rootfs
  std::string type;
  std::string data;         // filesystem-specific options, comma separated
  unsigned long flags = 0;  // MS_* flags applied at mount time
  // MS_* flags the options clear ("rw", "suid", "norelatime", ...): on a bind they call for a remount too,
  // even with nothing to set, as runc does.
  unsigned long clearedFlags = 0;
  unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC)
  bool recursiveReadonly = false;  // "rro": mount_setattr(AT_RECURSIVE, MOUNT_ATTR_RDONLY)
  bool copyUp = false;             // "tmpcopyup": the image's content of the mount point copied into the tmpfs
  bool sourceIsFile = false;       // bind of a non-directory: the destination is created as a file
  // `idmap`/`ridmap` (binds): the maps of the user namespace the parent makes for it (idmap.h).
  bool idmap = false, idmapRecursive = false;
  std::string idmapUid, idmapGid;
  // kCgroupV1Tree: one sub-mount per host hierarchy: names[i] mounted with options opts[i].
  std::vector<std::string> cgroupNames;
  std::vector<std::string> cgroupOptions;
  // Host directories bound in place of each hierarchy (the container's own cgroups, when it has no cgroup
  // namespace); "" mounts the hierarchy itself.
  std::vector<std::string> cgroupSources;
};

struct DevicePlan {
  std::string path;  // absolute inside the rootfs
  mode_t mode = 0;   // file type bits | permission bits
  dev_t dev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  bool bindFromHost = false;  // in a user namespace mknod is refused: bind the host's node instead
};

struct SymlinkPlan {
  std::string target;
  std::string linkpath;  // absolute inside the rootfs
};

struct SysctlPlan {
  std::string path;  // /proc/sys/..., inside the container
  std::string value;
};

struct HookPlan {
  std::string path;
  std::vector<std::string> args;  // argv, args[0] included
  std::vector<std::string> env;
  unsigned timeout = 0;  // seconds; 0: none
};

struct ContainerPlan {
  // Parent side.
  std::string initPath;  // the ocirun-init stub; copied into a sealed memfd, never exec'd from disk
  std::string fifoPath;  // exec.fifo in the state dir: `start` writes one byte into it; empty for exec
  // exec: a process joins an existing container (all of `joins`); no namespace, mount or rootfs is made.
  bool joinExisting = false;
  unsigned long cloneFlags = 0;  // CLONE_NEW* of the namespaces to create
  std::vector<NamespaceJoin> joins;  // namespaces to join, user first
  int joinPidfd = -1;  // exec: the init whose /proc/PID/ns files `joins` names; must still live once they are open
  std::string uidMap, gidMap;        // /proc/PID/{uid,gid}_map contents when a user namespace is new
  std::string timeOffsets;           // /proc/self/timens_offsets contents when a time namespace is new
  int preserveFds = 0;
  // The process's stdin, stdout and stderr: fds of the caller's (an embedding shim's fifos); -1 keeps the
  // runtime's own. A terminal replaces all three.
  int stdioFds[3] = {-1, -1, -1};
  // Cgroups, made by the TypeScript side before clone. The process is born in cgroupPath (cgroup2, through
  // clone3's CLONE_INTO_CGROUP, else by a write of its pid) and moves itself into the v1 controllers by
  // writing "0" to each cgroupTasks file, opened here by the parent: a thread that moves itself skips the
  // kernel's global threadgroup lock, and with it the RCU grace period that a pid written into cgroup.procs
  // waits for (some 5-20 ms per container on a v1 or hybrid host).
  std::string cgroupPath;
  std::vector<std::string> cgroupTasks;
  // The cgroup2 directory does not exist before clone: a cgroup manager (systemd) makes it around the cloned
  // child, which waits at its first sync point until spawn_finish (spawn.h) is called.
  bool cgroupDeferred = false;
  // A new cgroup namespace: made by unshare once the process is in its cgroups, so that they are its root.
  bool cgroupNamespace = false;

  // Child side: the root filesystem.
  std::string rootfs;  // absolute host path; exec: the init's root (/proc/PID/root) when it must be entered
  // false: the container shares the runtime's mount namespace. Its rootfs is chroot'ed into as it is: nothing
  // is mounted, propagated or created there (the plan has no mounts, devices or paths to mask).
  bool ownMounts = true;
  bool rootReadonly = false;
  bool noPivot = false;
  // --no-pivot: where the runtime's namespace has whole proc and sysfs mounts outside the rootfs. They stay
  // reachable below a chroot, so they are detached (or covered) before it, as runc does.
  std::vector<std::string> hostProcSys;
  unsigned long rootPropagation = 0;  // rootfsPropagation as MS_* flags; 0 when the config has none
  std::vector<MountPlan> mounts;
  std::vector<DevicePlan> devices;
  std::vector<SymlinkPlan> symlinks;
  // createContainer hooks: run by the child after the mounts, before pivot_root. They read the state, whose
  // "__PID__" the parent replaces with the init's host pid.
  std::vector<HookPlan> createContainerHooks;
  std::string hookStateTemplate;
  std::vector<SysctlPlan> sysctls;
  std::vector<std::string> readonlyPaths;  // bound read-only onto themselves; missing ones are skipped
  std::vector<std::string> maskedPaths;    // /dev/null over a file, an empty read-only tmpfs over a directory
  std::string hostname, domainname;
  bool setHostname = false, setDomainname = false;
  std::string cwd;  // inside the container; created if missing
  // process.terminal: a pty from the container's /dev/ptmx becomes the process's controlling terminal and
  // stdio; the master goes to consoleSocket, or back to the caller when that is empty.
  bool terminal = false;
  uid_t consoleUid = 0;  // the pty's owner: the process user (container ids)
  gid_t consoleGid = 0;
  std::string consoleSocket;
  unsigned short consoleRows = 0, consoleCols = 0;
  std::string sessionKeyring;  // name of a new session keyring; empty: keep the runtime's (--no-new-keyring)

  // The stub's control message (control.h), sent when it asks, and the process environment.
  std::string initControl;
  std::vector<std::string> env;
};

}  // namespace ocirun
