// Every record of the benchmark workload must be valid under the shipped enrolment schema
// (shared/workload/README.md): a record that fails is a bug in the schema or in the data,
// and this test names it rather than skipping it.
#include <doctest/doctest.h>
#include <zlib.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "lumbung/schema.h"

using lumbung::CollectionSchema;
using lumbung::Json;
using lumbung::Schema;
using lumbung::ValidationIssue;

namespace {

const std::string kSchemaPath = std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json";
const std::string kWorkloadPath =
    std::string(LUMBUNG_SHARED_DIR) + "/workload/enrolments-100k.ndjson.gz";

// Reads one line (without the newline) of any length; false at end of file.
bool read_line(gzFile file, std::string& line) {
  line.clear();
  char buf[4096];
  while (gzgets(file, buf, sizeof buf) != nullptr) {
    line += buf;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      return true;
    }
  }
  return !line.empty();
}

}  // namespace

TEST_CASE("every workload record validates under the enrolment schema") {
  std::shared_ptr<const Schema> schema = Schema::load_file(kSchemaPath);
  const CollectionSchema* enrolment = schema->collection("enrolment");
  REQUIRE(enrolment != nullptr);

  gzFile file = gzopen(kWorkloadPath.c_str(), "rb");
  REQUIRE_MESSAGE(file != nullptr, "cannot open " << kWorkloadPath);
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(file, gzclose);

  constexpr size_t kReportFirst = 10;
  size_t records = 0, invalid = 0, rewritten = 0;
  std::string report;
  std::chrono::steady_clock::duration validating{};
  std::string line;
  while (read_line(file, line)) {
    if (line.empty()) continue;
    ++records;
    Json record = Json::parse(line);
    if (!record.is_object() || !record.contains("id") || !record["id"].is_string()) {
      FAIL("line " << records << " is not a JSON object with an id");
    }
    std::string id = record["id"].get<std::string>();
    record.erase("id");  // the record id is not a field
    Json original = record;

    auto start = std::chrono::steady_clock::now();
    std::vector<ValidationIssue> issues = enrolment->normalize_and_validate(record, false);
    validating += std::chrono::steady_clock::now() - start;

    if (!issues.empty()) {
      if (++invalid <= kReportFirst) {
        report += "line " + std::to_string(records) + " (id " + id + "):\n";
        for (const ValidationIssue& i : issues) {
          report += "  " + i.field + " [" + i.reason + "] " + i.message + "\n";
        }
      }
    } else if (record != original) {
      // The workload is meant to be in stored form already; a rewrite would make replicas
      // hold something other than what the benchmark wrote.
      ++rewritten;
    }
  }

  INFO("first invalid records:\n" << report);
  CHECK(records == 100000);
  CHECK(invalid == 0);
  CHECK(rewritten == 0);

  double seconds = std::chrono::duration<double>(validating).count();
  MESSAGE("validated " << records << " workload records, " << invalid << " invalid; "
                       << static_cast<long long>(records / (seconds > 0 ? seconds : 1e-9))
                       << " records/s in normalize_and_validate");
}
