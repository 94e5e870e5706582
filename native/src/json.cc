#include "json.h"

#include <stdlib.h>
#include <string.h>

namespace ocirun::json {

namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  Parser(const char* text, size_t len, std::string& error) : begin_(text), p_(text), end_(text + len), error_(error) {}

  bool document(Value& out) {
    space();
    if (!value(out, 0)) return false;
    space();
    return p_ == end_ || bad("unexpected text after the value");
  }

 private:
  bool bad(const char* what) {
    error_ = "at byte " + std::to_string(p_ - begin_) + ": " + what;
    return false;
  }
  void space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) p_++;
  }
  bool take(char c) {
    if (p_ == end_ || *p_ != c) return false;
    p_++;
    return true;
  }
  bool word(const char* w) {
    size_t n = strlen(w);
    if (size_t(end_ - p_) < n || memcmp(p_, w, n) != 0) return bad("not a JSON value");
    p_ += n;
    return true;
  }

  bool value(Value& v, int depth) {
    if (p_ == end_) return bad("unexpected end");
    switch (*p_) {
      case '{':
      case '[': return container(v, depth + 1);
      case '"': v.kind = Value::String; return string(v.text);
      case 't': v.kind = Value::Bool; v.boolean = true; return word("true");
      case 'f': v.kind = Value::Bool; return word("false");
      case 'n': return word("null");
      default: v.kind = Value::Number; return number(v.number);
    }
  }

  // An object or an array, at its opening bracket: members (a key, ':', a value) or items, comma-separated.
  bool container(Value& v, int depth) {
    if (depth > kMaxDepth) return bad("nested too deeply");
    bool object = *p_ == '{';
    v.kind = object ? Value::Object : Value::Array;
    char close = object ? '}' : ']';
    p_++;
    space();
    if (take(close)) return true;
    do {
      space();
      if (object) {
        v.keys.emplace_back();
        if (p_ == end_ || *p_ != '"') return bad("expected a key");
        if (!string(v.keys.back())) return false;
        space();
        if (!take(':')) return bad("expected ':'");
        space();
      }
      v.items.emplace_back();
      if (!value(v.items.back(), depth)) return false;
      space();
    } while (take(','));
    return take(close) || bad(object ? "expected ',' or '}'" : "expected ',' or ']'");
  }

  int hex4() {
    if (end_ - p_ < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; i++, p_++) {
      char c = *p_;
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  }

  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  // A \u escape, the 'u' taken. A surrogate pair is one code point; a lone surrogate (JSON.stringify writes one
  // as an escape) becomes U+FFFD, as N-API's UTF-8 conversion of the same JS string makes it.
  bool escapedCodePoint(std::string& out) {
    int cp = hex4();
    if (cp < 0) return bad("bad \\u escape");
    if (cp >= 0xD800 && cp < 0xDC00 && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
      const char* back = p_;
      p_ += 2;
      int low = hex4();
      if (low >= 0xDC00 && low < 0xE000) {
        utf8(out, 0x10000 + ((unsigned(cp) - 0xD800) << 10) + (unsigned(low) - 0xDC00));
        return true;
      }
      p_ = back;  // not a pair: the next escape stands alone
    }
    utf8(out, cp >= 0xD800 && cp < 0xE000 ? 0xFFFD : unsigned(cp));
    return true;
  }

  bool string(std::string& out) {
    p_++;  // the opening quote
    for (;;) {
      const char* run = p_;
      while (p_ < end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) p_++;
      out.append(run, size_t(p_ - run));
      if (p_ == end_) return bad("unterminated string");
      char c = *p_++;
      if (c == '"') return true;
      if (c != '\\') {
        p_--;
        return bad("control character in a string");
      }
      if (p_ == end_) return bad("unterminated string");
      char e = *p_++;
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u':
          if (!escapedCodePoint(out)) return false;
          break;
        default:
          p_--;
          return bad("bad escape");
      }
    }
  }

  bool digits() {
    const char* start = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
    return p_ > start;
  }

  bool number(double& out) {
    const char* start = p_;
    take('-');
    if (take('0')) {
      if (p_ < end_ && *p_ >= '0' && *p_ <= '9') return bad("leading zero");
    } else if (!digits()) {
      return bad("not a JSON value");
    }
    if (take('.') && !digits()) return bad("expected digits after '.'");
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      p_++;
      if (!take('+')) take('-');
      if (!digits()) return bad("expected digits in the exponent");
    }
    // strtod reads exactly the span checked above, from a NUL-terminated copy of it.
    std::string span(start, size_t(p_ - start));
    out = strtod(span.c_str(), nullptr);
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  std::string& error_;
};

}  // namespace

bool parse(const char* text, size_t len, Value& out, std::string& error) {
  out = Value();
  return Parser(text, len, error).document(out);
}

}  // namespace ocirun::json
