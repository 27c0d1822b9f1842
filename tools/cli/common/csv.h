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
  // Reads the next row into `cells`; false at end of input. `row` is the row number a
  // spreadsheet shows for it: the header is row 1, every record one row (a line break
  // inside a quoted cell does not start a new row), blank rows counted but skipped.
  bool next(std::vector<std::string>& cells, size_t* row);

 private:
  bool read_row(std::vector<std::string>& cells);
  std::istream& in_;
  char sep_ = ',';
  size_t row_ = 1;
  std::vector<std::string> header_;
};

// The text of a spreadsheet file as UTF-8. UTF-8 (with or without a byte-order mark) is
// returned as it is; anything else is read as Windows-1252 (Excel's "CSV" on Windows; its
// printable part is Latin-1) and converted, with *converted_from set to "Windows-1252".
// Throws Error(kInvalidArgument) for UTF-16 ("Unicode text") and for bytes Windows-1252
// does not define, naming the spreadsheet row and what to do (save as "CSV UTF-8").
std::string csv_text_as_utf8(const std::string& bytes, std::string* converted_from);

// Writes one row, quoting cells that need it.
void write_csv_row(std::ostream& out, const std::vector<std::string>& cells, char sep = ',');

}  // namespace lumbung::cli
