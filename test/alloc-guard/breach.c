/* The guard's own check: arms it, then allocates, as a cloned child that broke the rule would. */
#include <stdio.h>
#include <stdlib.h>
void ocirun_alloc_guard_arm(void);
int main(void) {
  void *p = malloc(64);
  free(p);
  puts("before");
  fflush(stdout);
  ocirun_alloc_guard_arm();
  p = malloc(64);
  puts("not reached");
  return p == 0;
}
