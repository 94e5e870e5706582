// The pod a container belongs to, from its bundle's config.json: the CRI sandbox annotation
// (annotations["io.kubernetes.cri.sandbox-id"], which containerd's CRI plugin sets on a pod's every
// container, the sandbox's own too). A strict JSON scanner that skips what it does not need and decodes only
// the strings it compares; as JSON.parse, a later duplicate key wins.
#pragma once

#include <stddef.h>

namespace launcher {

// 1 and the value (NUL-terminated) in `out`; 0 when the config has no such annotation, or not a string, or
// one longer than `cap`; -1 when the text is not one JSON object (or nests deeper than 1000 levels).
int cri_sandbox_id(const char* text, size_t len, char* out, size_t cap);

}  // namespace launcher
