// lumbung-admin's commands, one function each (main.cpp dispatches), and the helpers they
// share. Everything goes through lumbung-server's HTTP API (common/api.h).
#pragma once

#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/api.h"
#include "common/args.h"
#include "lumbung/schema.h"

namespace lumbung::cli::admin {

struct Admin {
  std::unique_ptr<ApiClient> api;
  bool json = false;
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
  std::shared_ptr<const Schema> schema;  // fetched on first need

  const Schema& server_schema() {
    if (!schema) schema = Schema::parse(api->get("/v1/schema"));
    return *schema;
  }
};

// main.cpp
int codes(Admin& a, Args& args);
int tokens(Admin& a, Args& args);
int audit(Admin& a, Args& args);
int devices(Admin& a, Args& args);
// review.cpp
int conflicts(Admin& a, Args& args);
int duplicates(Admin& a, Args& args);
// reports.cpp
int progress(Admin& a, Args& args);
int export_cmd(Admin& a, Args& args);
// refused.cpp
int refused(Admin& a, Args& args);

// Open refused changes per device, from one bounded paged pass over GET /v1/refused
// (status=open). `complete` is false when the pass stopped at its bound (counts are then
// lower bounds).
struct RefusedCounts {
  std::map<std::string, uint64_t> by_device;
  uint64_t entries = 0;
  bool complete = true;
};
RefusedCounts open_refused_counts(Admin& a);

// Shared helpers (main.cpp).
std::vector<std::string> split_commas(const std::string& s);
std::string join(const Json& arr, const char* sep = ",");
std::optional<int64_t> opt_ms(const Json& j, const char* key);
// Finds the one entry whose id is `ref` or starts with it (lists show 8 characters).
Json find_entry(const Json& list, const std::string& ref, const std::string& what);
std::string field_name_text(Admin& a, const std::string& collection, const std::string& field);

}  // namespace lumbung::cli::admin
