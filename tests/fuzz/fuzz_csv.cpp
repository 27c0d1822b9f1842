// libFuzzer: the CSV reader of the command-line import (tools/cli/common/csv.h).
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "common/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    lumbung::cli::CsvReader reader(in);
    std::vector<std::string> cells;
    size_t line = 0;
    for (int rows = 0; rows < 100000 && reader.next(cells, &line); ++rows) {
    }
  } catch (const std::exception&) {  // a malformed file is reported, never a crash
  }
  return 0;
}
