#include "common/csv.h"

#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "common/i18n.h"
#include "lumbung/error.h"

namespace lumbung::cli {

CsvReader::CsvReader(std::istream& in) : in_(in) {
  // Peek the first line to pick the separator, then read it as the header.
  std::string first;
  const std::streampos start = in_.tellg();
  std::getline(in_, first);
  if (first.size() >= 3 && first.compare(0, 3, "\xEF\xBB\xBF") == 0) first.erase(0, 3);
  const auto commas = std::count(first.begin(), first.end(), ',');
  const auto semis = std::count(first.begin(), first.end(), ';');
  sep_ = semis > commas ? ';' : ',';
  in_.clear();
  in_.seekg(start);
  if (in_.peek() == 0xEF) {
    char bom[3];
    in_.read(bom, 3);
  }
  read_row(header_);
  for (auto& h : header_) {
    h.erase(0, h.find_first_not_of(" \t"));
    h.erase(h.find_last_not_of(" \t") + 1);
  }
}

bool CsvReader::read_row(std::vector<std::string>& cells) {
  cells.clear();
  if (in_.peek() == std::char_traits<char>::eof()) return false;
  std::string cell;
  bool quoted = false, any = false;
  for (;;) {
    const int ci = in_.get();
    if (ci == std::char_traits<char>::eof()) {
      if (any || !cell.empty()) cells.push_back(cell);
      return !cells.empty();
    }
    any = true;
    const char c = static_cast<char>(ci);
    if (quoted) {
      if (c == '"') {
        if (in_.peek() == '"') {
          cell.push_back('"');
          in_.get();
        } else {
          quoted = false;
        }
      } else {
        cell.push_back(c);
      }
    } else if (c == '"' && cell.empty()) {
      quoted = true;
    } else if (c == sep_) {
      cells.push_back(cell);
      cell.clear();
    } else if (c == '\r') {
      // CRLF: the '\n' ends the row.
    } else if (c == '\n') {
      cells.push_back(cell);
      return true;
    } else {
      cell.push_back(c);
    }
  }
}

bool CsvReader::next(std::vector<std::string>& cells, size_t* row) {
  for (;;) {
    if (!read_row(cells)) return false;
    ++row_;
    const bool blank = std::all_of(cells.begin(), cells.end(), [](const std::string& s) {
      return s.find_first_not_of(" \t") == std::string::npos;
    });
    if (blank) continue;
    if (row) *row = row_;
    return true;
  }
}

namespace {

// Converts with glibc's iconv; false (and `bad_at` = the offset of the first byte it could
// not convert) when the input is not valid in `from`.
bool iconv_to_utf8(const char* from, const std::string& in, std::string& out, size_t& bad_at) {
  iconv_t cd = ::iconv_open("UTF-8", from);
  if (cd == reinterpret_cast<iconv_t>(-1)) throw Error(ErrorCode::kInternal, "iconv_open failed");
  std::unique_ptr<void, int (*)(iconv_t)> close(cd, ::iconv_close);
  out.assign(in.size() * 3 + 16, '\0');
  char* src = const_cast<char*>(in.data());
  size_t src_left = in.size();
  char* dst = out.data();
  size_t dst_left = out.size();
  const size_t rc = ::iconv(cd, &src, &src_left, &dst, &dst_left);
  if (rc == static_cast<size_t>(-1)) {
    bad_at = in.size() - src_left;
    return false;
  }
  out.resize(out.size() - dst_left);
  return true;
}

// The spreadsheet row of byte `offset` (line breaks inside quotes do not count).
size_t row_of(const std::string& text, size_t offset) {
  size_t row = 1;
  bool quoted = false;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;
    if (text[i] == '\n' && !quoted) ++row;
  }
  return row;
}

}  // namespace

std::string csv_text_as_utf8(const std::string& bytes, std::string* converted_from) {
  if (converted_from) converted_from->clear();
  if (bytes.size() >= 2 &&
      ((bytes[0] == '\xFF' && bytes[1] == '\xFE') || (bytes[0] == '\xFE' && bytes[1] == '\xFF'))) {
    throw Error(ErrorCode::kInvalidArgument, tr("import.utf16"));
  }
  std::string out;
  size_t bad_at = 0;
  if (iconv_to_utf8("UTF-8", bytes, out, bad_at)) return bytes;
  if (!iconv_to_utf8("WINDOWS-1252", bytes, out, bad_at)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(bytes[bad_at]));
    throw Error(ErrorCode::kInvalidArgument,
                tr("import.unknown_encoding",
                   {{"row", std::to_string(row_of(bytes, bad_at))}, {"byte", hex}}));
  }
  if (converted_from) *converted_from = "Windows-1252";
  return out;
}

void write_csv_row(std::ostream& out, const std::vector<std::string>& cells, char sep) {
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i) out << sep;
    const std::string& c = cells[i];
    if (c.find_first_of(std::string("\"\r\n") + sep) == std::string::npos) {
      out << c;
      continue;
    }
    out << '"';
    for (char ch : c) {
      if (ch == '"') out << '"';
      out << ch;
    }
    out << '"';
  }
  out << "\r\n";
}

}  // namespace lumbung::cli
