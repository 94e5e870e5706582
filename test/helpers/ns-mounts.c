// ns-mounts PID: every mount of PID's mount namespace, one per line: "fstype dev root", where dev is the
// superblock's device as stat(2) gives st_dev. Unlike /proc/PID/mountinfo it lists the mounts no path from
// PID's root reaches too (listmount(2) and statmount(2), Linux 6.8+). Used by the tests to see what a
// chroot'ed (--no-pivot) container leaves in its namespace.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct mnt_id_req { uint32_t size, spare; uint64_t mnt_id, param, mnt_ns_id; };
struct statmount {
  uint32_t size, mnt_opts; uint64_t mask; uint32_t sb_dev_major, sb_dev_minor; uint64_t sb_magic;
  uint32_t sb_flags, fs_type; uint64_t mnt_id, mnt_parent_id; uint32_t mnt_id_old, mnt_parent_id_old;
  uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
  uint32_t mnt_root, mnt_point; uint64_t mnt_ns_id; uint64_t spare2[49]; char str[];
};
#define STATMOUNT_SB_BASIC 0x1u
#define STATMOUNT_MNT_ROOT 0x8u
#define STATMOUNT_FS_TYPE 0x20u
#define LSMT_ROOT 0xffffffffffffffffull

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/ns/mnt", argv[1]);
  int ns = open(path, O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNS) < 0) { perror(path); return 1; }
  uint64_t ids[4096];
  static char buf[1 << 16];
  struct statmount* sm = (struct statmount*)buf;
  // listmount(LSMT_ROOT) starts at the caller's root, which a chroot'ed init's namespace has on top of the
  // real one: climb to the namespace's own root mount first.
  struct mnt_id_req req = {sizeof req, 0, LSMT_ROOT, 0, 0};
  long n = syscall(458 /* listmount */, &req, ids, 1, 0);
  if (n < 1) { perror("listmount"); return 1; }
  uint64_t top = ids[0];
  for (;;) {
    struct mnt_id_req up = {sizeof up, 0, top, 0x2u /* STATMOUNT_MNT_BASIC */, 0};
    if (syscall(457, &up, sm, sizeof buf, 0) < 0 || sm->mnt_parent_id == top) break;
    struct mnt_id_req probe = {sizeof probe, 0, sm->mnt_parent_id, 0x2u, 0};
    if (syscall(457, &probe, sm, sizeof buf, 0) < 0) break;  // the parent is not in this namespace
    top = sm->mnt_id;
  }
  struct mnt_id_req all = {sizeof all, 0, top, 0, 0};
  n = syscall(458, &all, ids + 1, 4095, 0);
  if (n < 0) { perror("listmount"); return 1; }
  ids[0] = top;
  n += 1;
  for (long i = 0; i < n; i++) {
    struct mnt_id_req one = {sizeof one, 0, ids[i], STATMOUNT_SB_BASIC | STATMOUNT_FS_TYPE | STATMOUNT_MNT_ROOT, 0};
    if (syscall(457 /* statmount */, &one, sm, sizeof buf, 0) < 0) { perror("statmount"); return 1; }
    printf("%s %llu %s\n", sm->str + sm->fs_type, (unsigned long long)makedev(sm->sb_dev_major, sm->sb_dev_minor), sm->str + sm->mnt_root);
  }
  return 0;
}
