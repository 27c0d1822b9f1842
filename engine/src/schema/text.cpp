// Single-line text checks (lumbung/text.h). The decoder follows RFC 3629's table of
// well-formed UTF-8 (Unicode 15, table 3-7): no overlong forms, no surrogates, nothing
// above U+10FFFF. ASCII text, the common case, is one comparison per byte.
#include "lumbung/text.h"

#include <cstdio>

namespace lumbung {
namespace {

bool refused(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Decodes one well-formed UTF-8 sequence at text[i]; returns its length (1-4) and sets *cp,
// or 0 if the bytes there are not well-formed.
size_t decode(std::string_view text, size_t i, uint32_t* cp) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char b0 = at(0);
  const size_t left = text.size() - i;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (left < 2 || !continuation(at(1))) return 0;
    *cp = ((b0 & 0x1Fu) << 6) | (at(1) & 0x3Fu);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3 || !continuation(at(1)) || !continuation(at(2))) return 0;
    if (b0 == 0xE0 && at(1) < 0xA0) return 0;  // overlong
    if (b0 == 0xED && at(1) > 0x9F) return 0;  // UTF-16 surrogate
    *cp = ((b0 & 0x0Fu) << 12) | ((at(1) & 0x3Fu) << 6) | (at(2) & 0x3Fu);
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4 || !continuation(at(1)) || !continuation(at(2)) || !continuation(at(3))) return 0;
    if (b0 == 0xF0 && at(1) < 0x90) return 0;  // overlong
    if (b0 == 0xF4 && at(1) > 0x8F) return 0;  // above U+10FFFF
    *cp = ((b0 & 0x07u) << 18) | ((at(1) & 0x3Fu) << 12) | ((at(2) & 0x3Fu) << 6) | (at(3) & 0x3Fu);
    return 4;
  }
  return 0;  // a stray continuation byte, C0/C1 (overlong lead) or F5-FF
}

}  // namespace

std::optional<TextFault> find_text_fault(std::string_view text) noexcept {
  size_t index = 0;
  for (size_t i = 0; i < text.size(); ++index) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t n = decode(text, i, &cp);
    if (n == 0) return TextFault{index, TextFault::kNotUtf8};
    if (refused(cp)) return TextFault{index, cp};
    i += n;
  }
  return std::nullopt;
}

std::string describe_text_fault(const TextFault& fault) {
  const std::string where = " at character " + std::to_string(fault.index + 1);
  if (fault.code_point == TextFault::kNotUtf8) return "bytes that are not UTF-8" + where;
  char cp[16];
  std::snprintf(cp, sizeof cp, "U+%04X", static_cast<unsigned>(fault.code_point));
  const bool bidi = fault.code_point >= 0x202A;
  return std::string(bidi ? "a bidirectional control character (" : "a control character (") + cp +
         ")" + where;
}

}  // namespace lumbung
