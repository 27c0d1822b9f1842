#include "common/output.h"

#include <unistd.h>

#include <chrono>
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

void print_table(std::ostream& out, const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows, size_t max_width) {
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

void print_json(std::ostream& out, const Json& j) { out << j.dump(2) << "\n"; }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string local_time(std::optional<int64_t> ms) {
  if (!ms) return "-";
  const std::time_t t = static_cast<std::time_t>(*ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
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
