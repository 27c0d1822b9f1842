#include "common/output.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <ostream>

#include "common/i18n.h"

namespace lumbung::cli {

size_t utf8_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

namespace {

// The length of the well-formed UTF-8 sequence starting at s[i] (1-4), or 0 if the bytes
// there are not one (a stray continuation byte, an overlong form, a surrogate, a cut end).
size_t utf8_sequence(const std::string& s, size_t i, uint32_t* cp) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t n;
  uint32_t v;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    v = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    v = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    v = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    v = (v << 6) | (d & 0x3F);
  }
  static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return n;
}

// Characters that must not reach a terminal as they are: controls, and the bidi controls
// that can make text display in another order than it is stored.
bool unprintable(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

// Cuts UTF-8 text to at most `width` characters, marking the cut with "…".
std::string fit(const std::string& s, size_t width) {
  if (utf8_width(s) <= width || width < 2) return s;
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (chars == width - 1) break;
      ++chars;
    }
    out.push_back(s[i]);
  }
  return out + "…";
}

}  // namespace

std::string printable(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  char buf[16];
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    const size_t n = utf8_sequence(s, i, &cp);
    if (n == 0) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s[i]));
      out += buf;
      ++i;
      continue;
    }
    if (!unprintable(cp)) {
      out.append(s, i, n);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp < 0x80) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
      out += buf;
    } else {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      out += buf;
    }
    i += n;
  }
  return out;
}

void print_table(std::ostream& out, const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows_in, size_t max_width) {
  // Cells come from records and the server: nothing in them may drive the terminal.
  std::vector<std::vector<std::string>> rows = rows_in;
  for (auto& r : rows) {
    for (auto& cell : r) cell = printable(cell);
  }
  std::vector<size_t> widths(headers.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], std::min(utf8_width(row[i]), max_width));
    }
  };
  measure(headers);
  for (const auto& r : rows) measure(r);
  auto line = [&](const std::vector<std::string>& row) {
    std::string text;
    for (size_t i = 0; i < widths.size(); ++i) {
      std::string cell = fit(i < row.size() ? row[i] : std::string(), max_width);
      text += cell;
      if (i + 1 < widths.size()) text += std::string(widths[i] - utf8_width(cell) + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << "\n";
  };
  line(headers);
  std::vector<std::string> rule;
  for (size_t w : widths) {
    std::string r;
    for (size_t i = 0; i < w; ++i) r += "─";
    rule.push_back(r);
  }
  line(rule);
  for (const auto& r : rows) line(r);
}

// Bytes that are not UTF-8 (they cannot come from parsed JSON, but a record is only as good
// as the file it was imported from) are replaced rather than aborting the output.
void print_json(std::ostream& out, const Json& j) {
  out << j.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string zone_label(long offset_seconds) {
  // Indonesia's three zones by their names; anywhere else the offset itself.
  if (offset_seconds == 7 * 3600) return "WIB";
  if (offset_seconds == 8 * 3600) return "WITA";
  if (offset_seconds == 9 * 3600) return "WIT";
  const long m = (offset_seconds < 0 ? -offset_seconds : offset_seconds) / 60;
  char buf[48];
  std::snprintf(buf, sizeof buf, "UTC%c%02ld:%02ld", offset_seconds < 0 ? '-' : '+', m / 60,
                m % 60);
  return buf;
}

std::string local_time(std::optional<int64_t> ms) {
  if (!ms) return "-";
  const std::time_t t = static_cast<std::time_t>(*ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  // The offset of that moment (tm_gmtoff), so a date across a DST change is still right.
  return std::string(buf) + " " + zone_label(tm.tm_gmtoff);
}

std::string local_timestamp(const std::string& iso_utc) {
  std::tm tm{};
  const char* end = strptime(iso_utc.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return iso_utc;
  // Fractions of a second, then "Z" or "+00:00": only UTC timestamps are turned.
  while (*end == '.' || (*end >= '0' && *end <= '9')) ++end;
  const std::string zone = end;
  if (zone != "Z" && zone != "+00:00") return iso_utc;
  return local_time(static_cast<int64_t>(timegm(&tm)) * 1000);
}

std::string time_ago(std::optional<int64_t> ms, int64_t now) {
  if (!ms) return "-";
  const int64_t s = (now - *ms) / 1000;
  if (s < 0) return tr("time.future");
  if (s < 60) return tr("time.just_now");
  if (s < 3600) return tr("time.minutes_ago", {{"n", std::to_string(s / 60)}});
  if (s < 86400) return tr("time.hours_ago", {{"n", std::to_string(s / 3600)}});
  return tr("time.days_ago", {{"n", std::to_string(s / 86400)}});
}

std::string utc_timestamp_now() {
  const std::time_t t = static_cast<std::time_t>(now_ms() / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string value_text(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array() &&
      std::all_of(v.begin(), v.end(), [](const Json& x) { return x.is_string(); })) {
    std::string out;
    for (const auto& x : v) {
      if (!out.empty()) out += ",";
      out += x.get<std::string>();
    }
    return out;
  }
  return v.dump();
}

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b < 1024) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  } else if (b < 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KB", static_cast<double>(b) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(b) / (1024 * 1024));
  }
  std::string s = buf;
  if (language() == Lang::kIndonesian) {
    for (char& c : s) {
      if (c == '.') c = ',';
    }
  }
  return s;
}

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

}  // namespace lumbung::cli
