// The shipped BPJS enrolment schema and a valid sample record, for tests.
#pragma once

#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include "lumbung/schema.h"

namespace lumbung::test {

inline std::shared_ptr<const Schema> enrolment_schema() {
  static const auto schema =
      Schema::load_file(std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json");
  return schema;
}

// The shipped schema document as JSON, to derive other versions from (schema_versions tests).
inline Json enrolment_document() {
  std::ifstream in(std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json");
  return Json::parse(in);
}

// The field `name` of the document's first collection.
inline Json& field_of(Json& doc, const std::string& name) {
  for (auto& f : doc["collections"][0]["fields"]) {
    if (f["name"] == name) return f;
  }
  throw std::runtime_error("no field " + name);
}

// A valid enrolment (the first record of the workload, id removed). `serial` varies the
// NIK's last four digits so callers can make many distinct people.
inline Json sample_enrolment(int serial = 8654) {
  std::string digits = std::to_string(serial % 10000 == 0 ? 1 : serial % 10000);
  const std::string nik = "724211191180" + std::string(4 - digits.size(), '0') + digits;
  return Json{{"nik", nik},
              {"full_name", "Eko Setiawan"},
              {"birth_date", "1980-11-19"},
              {"gender", "L"},
              {"village_code", "7242111687"},
              {"position", "kasi pelayanan"},
              {"phone", "08952220666"},
              {"programs", {"JKK", "JKM"}},
              {"monthly_income", 14000000},
              {"status", "submitted"},
              {"created_at", "2025-01-06T00:00:03.306Z"},
              {"officer_id", "OFC-0022"}};
}

// The same person in Desa Awuliti, Kecamatan Lambuya, Kabupaten Konawe (74.02.01.2006).
inline Json konawe_enrolment(int serial) {
  Json r = sample_enrolment(serial);
  r["village_code"] = "74.02.01.2006";
  return r;
}

}  // namespace lumbung::test
