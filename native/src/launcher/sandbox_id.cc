#include "sandbox_id.h"

#include <string.h>

namespace launcher {

namespace {

constexpr int kMaxDepth = 1000;

struct Scanner {
  const char* p;
  const char* end;
  int depth = 0;

  bool at(char c) const { return p < end && *p == c; }
  void ws() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  }
  bool literal(const char* word) {
    size_t n = strlen(word);
    if (size_t(end - p) < n || memcmp(p, word, n) != 0) return false;
    p += n;
    return true;
  }
  int hex4() {
    if (end - p < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
      char c = *p++;
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  }

  // A string at p, decoded into out (cap bytes with the NUL; *fits false when it did not fit, or holds a NUL
  // that a C string cannot). False when it is no valid JSON string.
  bool string(char* out, size_t cap, bool* fits) {
    size_t n = 0;
    *fits = true;
    auto put = [&](unsigned char c) {
      if (c && n + 1 < cap) out[n++] = char(c);
      else *fits = false;
    };
    if (!at('"')) return false;
    p++;
    while (p < end && *p != '"') {
      unsigned char c = static_cast<unsigned char>(*p++);
      if (c < 0x20) return false;
      if (c != '\\') {
        put(c);
        continue;
      }
      if (p >= end) return false;
      char esc = *p++;
      const char* simple = strchr("\"\\/bfnrt", esc);
      if (esc && simple) {
        put(static_cast<unsigned char>("\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"]));
        continue;
      }
      if (esc != 'u') return false;
      long cp = hex4();
      if (cp < 0) return false;
      if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
        const char* back = p;
        p += 2;
        long low = hex4();
        if (low >= 0xdc00 && low <= 0xdfff) cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        else p = back;
      }
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;  // a lone surrogate: as UTF-8 encoding writes it
      if (cp < 0x80) {
        put(static_cast<unsigned char>(cp));
      } else if (cp < 0x800) {
        put(static_cast<unsigned char>(0xc0 | cp >> 6)), put(static_cast<unsigned char>(0x80 | (cp & 0x3f)));
      } else if (cp < 0x10000) {
        put(static_cast<unsigned char>(0xe0 | cp >> 12)), put(static_cast<unsigned char>(0x80 | (cp >> 6 & 0x3f)));
        put(static_cast<unsigned char>(0x80 | (cp & 0x3f)));
      } else {
        put(static_cast<unsigned char>(0xf0 | cp >> 18)), put(static_cast<unsigned char>(0x80 | (cp >> 12 & 0x3f)));
        put(static_cast<unsigned char>(0x80 | (cp >> 6 & 0x3f))), put(static_cast<unsigned char>(0x80 | (cp & 0x3f)));
      }
    }
    if (!at('"')) return false;
    p++;
    if (cap) out[n] = 0;
    return true;
  }

  bool number() {
    auto digits = [&] {
      const char* from = p;
      while (p < end && *p >= '0' && *p <= '9') p++;
      return p > from;
    };
    if (at('-')) p++;
    if (at('0')) p++;
    else if (!digits()) return false;
    if (at('.')) {
      p++;
      if (!digits()) return false;
    }
    if (at('e') || at('E')) {
      p++;
      if (at('+') || at('-')) p++;
      if (!digits()) return false;
    }
    return true;
  }

  // An object at p: `member(key, fits)` is called at each member's value and must consume it.
  template <typename Member>
  bool object(Member member) {
    if (!at('{') || ++depth > kMaxDepth) return false;
    p++;
    ws();
    if (at('}')) return p++, depth--, true;
    for (;;) {
      char key[64];
      bool fits;
      ws();
      if (!string(key, sizeof key, &fits)) return false;
      ws();
      if (!at(':')) return false;
      p++;
      ws();
      if (!member(fits ? key : "", *this)) return false;
      ws();
      if (at(',')) {
        p++;
        continue;
      }
      if (!at('}')) return false;
      p++;
      depth--;
      return true;
    }
  }

  bool value() {
    ws();
    if (p >= end) return false;
    switch (*p) {
      case '{':
        return object([](const char*, Scanner& s) { return s.value(); });
      case '[': {
        if (++depth > kMaxDepth) return false;
        p++;
        ws();
        if (at(']')) return p++, depth--, true;
        for (;;) {
          if (!value()) return false;
          ws();
          if (at(',')) {
            p++;
            continue;
          }
          if (!at(']')) return false;
          p++;
          depth--;
          return true;
        }
      }
      case '"': {
        bool fits;
        char none[1];
        return string(none, 0, &fits);
      }
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }
};

}  // namespace

int cri_sandbox_id(const char* text, size_t len, char* out, size_t cap) {
  Scanner s{text, text + len};
  int found = 0;
  s.ws();
  bool ok = s.object([&](const char* key, Scanner& s) {
    if (strcmp(key, "annotations") != 0 || !s.at('{')) {
      if (!strcmp(key, "annotations")) found = 0;  // a later one replaces the first
      return s.value();
    }
    found = 0;
    return s.object([&](const char* key, Scanner& s) {
      if (strcmp(key, "io.kubernetes.cri.sandbox-id") != 0) return s.value();
      if (!s.at('"')) return found = 0, s.value();
      bool fits;
      if (!s.string(out, cap, &fits)) return false;
      found = fits ? 1 : 0;
      return true;
    });
  });
  s.ws();
  if (!ok || s.p != s.end) return -1;
  return found;
}

}  // namespace launcher
