/* The guard's switch stays set after the child has exec'd or exited; a thread of the runtime's own that later
 * runs on the memory that was the child's stack must go on allocating. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
void ocirun_alloc_guard_arm(void);

static int child(void *arg) {
  (void)arg;
  ocirun_alloc_guard_arm();
  return 0;
}

static void *thread(void *arg) {
  (void)arg;
  free(malloc(64));
  return 0;
}

int main(void) {
  size_t size = 1 << 20;
  char *stack = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return 2;
  int pid = clone(child, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, 0);
  if (pid < 0 || waitpid(pid, 0, 0) != pid) return 3;
  pthread_attr_t attr;
  pthread_t t;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, stack, size);
  if (pthread_create(&t, &attr, thread, 0) || pthread_join(t, 0)) return 4;
  puts("went on");
  return 0;
}
