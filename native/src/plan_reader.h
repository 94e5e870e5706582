// The spawn plan as TypeScript sends it (lib/native.ts NativePlan, as JSON text) read into a ContainerPlan.
// The shape is checked here, at the language boundary: a missing required field, a field of the wrong type,
// and any field this reader does not know fail with the field's name (`plan.mounts[2].flags: must be a
// number`), so that NativePlan and plan.h cannot drift apart silently: a field renamed on one side fails the
// first container made. Plain C++: the binding turns a false into a TypeError.
#pragma once

#include <stddef.h>

#include <string>

#include "plan.h"

namespace ocirun {

// Parses `json` and fills `out` (its initControl excepted: the binding takes that Buffer as it is). False
// with `error` naming the field, or the JSON's flaw.
bool read_plan(const char* json, size_t len, ContainerPlan& out, std::string& error);

}  // namespace ocirun
