// CSV as spreadsheets write it (RFC 4180): quoted cells may hold the separator, quotes
// ("") and line breaks. The reader also accepts what Indonesian spreadsheets produce: a
// UTF-8 byte-order mark, CRLF line ends, and ';' as the separator (Excel in the id-ID
// locale, where ',' is the decimal mark) — detected from the header line.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace lumbung::cli {

class CsvReader {
 public:
  // Reads the header row at once. An empty input gives an empty header.
  explicit CsvReader(std::istream& in);

  const std::vector<std::string>& header() const { return header_; }
  char separator() const { return sep_; }
  // Reads the next row into `cells`; false at end of input. `line` is the 1-based line
  // number where the row starts (what a spreadsheet user sees). Blank lines are skipped.
  bool next(std::vector<std::string>& cells, size_t* line);

 private:
  bool read_row(std::vector<std::string>& cells);
  std::istream& in_;
  char sep_ = ',';
  size_t line_ = 1;
  std::vector<std::string> header_;
};

// Writes one row, quoting cells that need it.
void write_csv_row(std::ostream& out, const std::vector<std::string>& cells, char sep = ',');

}  // namespace lumbung::cli
