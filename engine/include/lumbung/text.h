// Text is data: what a single-line text value (a schema text field, a device or token
// label) may hold.
//
// Such a value is shown later in terminals, spreadsheets and web pages, so it must not
// carry characters that act on the reader instead of being read: C0 controls (U+0000-U+001F,
// TAB, CR and LF included: every text field is one line), DEL (U+007F), the C1 controls
// (U+0080-U+009F, which some terminals obey as escape sequences), and the bidirectional
// embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069) that make a
// name display reordered ("Trojan Source"). It must also be UTF-8 (bytes that are not are
// refused rather than guessed at). The engine's schema validation (reasons
// "control_character" and "invalid_utf8") and the server's label checks both use this.
//
// Pure functions, thread-safe, no allocation in find_text_fault.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lumbung {

// The first character of a text that a single-line value may not hold.
struct TextFault {
  static constexpr uint32_t kNotUtf8 = 0xFFFFFFFFu;
  size_t index = 0;         // 0-based position in characters (code points) of the text
  uint32_t code_point = 0;  // the refused character, or kNotUtf8 when the bytes there are
                            // not UTF-8 (overlong, surrogate, truncated, stray continuation)
  // "control_character" or "invalid_utf8": the stable reason code of a ValidationIssue.
  const char* reason() const noexcept {
    return code_point == kNotUtf8 ? "invalid_utf8" : "control_character";
  }
};

// nullopt when `text` is UTF-8 free of the characters above; otherwise the first fault.
std::optional<TextFault> find_text_fault(std::string_view text) noexcept;

// Words for a message, naming the character and its position but never quoting the text
// (it may be personal data): "a control character (U+001B) at character 6", "bytes that
// are not UTF-8 at character 3".
std::string describe_text_fault(const TextFault& fault);

}  // namespace lumbung
