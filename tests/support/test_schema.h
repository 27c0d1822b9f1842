// A small schema for engine unit tests, independent of the BPJS enrolment schema:
// two last-writer-wins strings, a forward-only status, a needs-review field, a scope field.
#pragma once

#include <memory>

#include "lumbung/schema.h"

namespace lumbung::test {

inline std::shared_ptr<const Schema> small_schema() {
  static const auto schema = Schema::parse(Json::parse(R"({
    "schema": "unit-test", "version": 1,
    "collections": [{
      "name": "t", "scope_field": "region", "natural_key": "key",
      "fields": [
        {"name": "a", "type": "string"},
        {"name": "b", "type": "string"},
        {"name": "key", "type": "string"},
        {"name": "region", "type": "region_code"},
        {"name": "st", "type": "enum", "policy": "forward_only",
         "values": ["draft", "submitted", "verified", "rejected", "enrolled"]},
        {"name": "r", "type": "string", "policy": "needs_review"}
      ]}]})"));
  return schema;
}

}  // namespace lumbung::test
