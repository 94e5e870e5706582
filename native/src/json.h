// A JSON document as a small tree: how the spawn plan crosses from TypeScript to the addon. One string made
// by V8's JSON.stringify and parsed here costs a fraction of reading the same plan field by field through
// N-API (each field several calls, each key a string V8 must internalize: ~250 fields a container).
// Strict RFC 8259 (no comments, no trailing commas, no leading zeros); plain C++, no N-API.
#pragma once

#include <stddef.h>

#include <string>
#include <vector>

namespace ocirun::json {

struct Value {
  enum Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Null;
  bool boolean = false;
  double number = 0;
  std::string text;                // String
  std::vector<Value> items;        // Array's items; Object's values
  std::vector<std::string> keys;   // Object's keys, in the document's order (items[i] is keys[i]'s)
};

// Parses one JSON value filling the whole of `text` (surrounding white space allowed). On failure returns
// false with `error` saying what was wrong where (`at byte 12: expected ':'`). Nesting is limited to 64 levels.
bool parse(const char* text, size_t len, Value& out, std::string& error);

}  // namespace ocirun::json
