// SHA-256 (FIPS 180-4), for the one digest the launcher needs: the name of a shim's socket (shim_start.h),
// which must be the one the test suite and an earlier shim compute with Node's crypto.
#pragma once

#include <stddef.h>

namespace launcher {

// The digest of `len` bytes at `data` as 64 lowercase hex digits and a NUL.
void sha256_hex(const void* data, size_t len, char out[65]);

}  // namespace launcher
