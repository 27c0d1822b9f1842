#include "common/csv.h"

#include <algorithm>

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
        if (c == '\n') ++line_;
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
      ++line_;
      cells.push_back(cell);
      return true;
    } else {
      cell.push_back(c);
    }
  }
}

bool CsvReader::next(std::vector<std::string>& cells, size_t* line) {
  for (;;) {
    const size_t start = line_;
    if (!read_row(cells)) return false;
    const bool blank = std::all_of(cells.begin(), cells.end(), [](const std::string& s) {
      return s.find_first_not_of(" \t") == std::string::npos;
    });
    if (blank) continue;
    if (line) *line = start;
    return true;
  }
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
