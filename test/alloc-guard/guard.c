/*
 * The allocation guard: preloaded into ocirun's Node (LD_PRELOAD), it passes every allocation through to
 * glibc until the cloned child calls ocirun_alloc_guard_arm(); from then on any malloc, calloc, realloc or
 * free made on that child's stack writes one line to stderr and kills it. A cloned child of a multi-threaded process
 * that allocates can deadlock on a malloc lock another thread held at clone time: the rule is "no
 * allocation before exec", and this makes a breach loud. Built by test/alloc-guard.test.mjs.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

/* An address on the stack of the child that armed it, and that child's pid: the runtime's cloned child shares
 * the runtime's memory (native/src/vfork_clone.h), so the switch says whose it is. Code running on that stack in
 * that process (the child, and the child it forks for a pid namespace, which arms again) is guarded. The switch
 * stays set after the child has exec'd, and the runtime may later run a thread whose stack lies where the
 * child's was: the pid tells them apart (the child is a process of its own, the runtime's threads share one). */
static volatile uintptr_t armed;
static volatile long armed_pid;
static int verbose;

/* OCIRUN_ALLOC_GUARD_VERBOSE=1: each arming says so on stderr, so that a test can see the guard is in use. */
__attribute__((constructor)) static void init(void) {
  const char *v = getenv("OCIRUN_ALLOC_GUARD_VERBOSE");
  verbose = v && *v == '1';
}

/* Deeper frames are below the arming one (stacks grow down), within the child's 1 MiB stack. */
static int in_armed(void) {
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  if (!armed || sp > armed + 4096 || sp + (1u << 20) <= armed) return 0;
  return syscall(SYS_getpid) == armed_pid;
}

void ocirun_alloc_guard_arm(void) {
  char here;
  armed_pid = syscall(SYS_getpid);
  armed = (uintptr_t)&here;
  if (verbose) {
    static const char msg[] = "ocirun alloc-guard: armed\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
  }
}

static void breach(const char *what) {
  static const char head[] = "ocirun alloc-guard: ";
  static const char tail[] = " in the cloned child\n";
  ssize_t r = write(2, head, sizeof head - 1);
  r = write(2, what, strlen(what));
  r = write(2, tail, sizeof tail - 1);
  (void)r;
  syscall(SYS_kill, syscall(SYS_getpid), SIGKILL);
}

void *malloc(size_t n) {
  if (in_armed()) breach("malloc");
  return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
  if (in_armed()) breach("calloc");
  return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
  if (in_armed()) breach("realloc");
  return __libc_realloc(p, n);
}
void *memalign(size_t a, size_t n) {
  if (in_armed()) breach("memalign");
  return __libc_memalign(a, n);
}
void *aligned_alloc(size_t a, size_t n) { return memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
  void *p = memalign(a, n);
  if (!p) return 12; /* ENOMEM */
  *out = p;
  return 0;
}
void *valloc(size_t n) { return memalign(4096, n); }
void *pvalloc(size_t n) { return memalign(4096, (n + 4095) & ~(size_t)4095); }
void free(void *p) {
  if (p && in_armed()) breach("free");
  __libc_free(p);
}
