// Allocation-free formatting for code that runs in a cloned child (no snprintf, no locale, no malloc).
#pragma once

#include <stddef.h>

namespace ocirun {

// Appends the decimal form of v to buf (capacity cap); returns the new length.
inline size_t append_uint(char* buf, size_t len, size_t cap, unsigned long v) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = char('0' + v % 10);
    v /= 10;
  } while (v && n < sizeof tmp);
  while (n && len + 1 < cap) buf[len++] = tmp[--n];
  buf[len] = 0;
  return len;
}

inline size_t append_str(char* buf, size_t len, size_t cap, const char* s) {
  while (*s && len + 1 < cap) buf[len++] = *s++;
  buf[len] = 0;
  return len;
}

// "/proc/self/fd/<fd>": the path through which mount(2) reaches an fd resolved safely inside the rootfs.
struct FdPath {
  char buf[32];
  explicit FdPath(int fd) { append_uint(buf, append_str(buf, 0, sizeof buf, "/proc/self/fd/"), sizeof buf, unsigned(fd)); }
  const char* c_str() const { return buf; }
};

}  // namespace ocirun
