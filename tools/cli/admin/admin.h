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
  std::string pin;  // the server's key pin given with --pin / LUMBUNG_PIN, if any
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
// devices.cpp
int devices(Admin& a, Args& args);
// tokens.cpp: `tokens list` and `tokens revoke ID` (`tokens create` is in main.cpp).
int token_list_or_revoke(Admin& a, const std::string& verb, Args& args);
// review.cpp
int conflicts(Admin& a, Args& args);
int duplicates(Admin& a, Args& args);
// reports.cpp
int progress(Admin& a, Args& args);
int export_cmd(Admin& a, Args& args);
// `audit list`'s page (GET /v1/admin/audit) as a table, or as it came with --json.
int audit_list(Admin& a, const Json& page);
// refused.cpp
int refused(Admin& a, Args& args);
// schema.cpp: `schema publish FILE`, `schema list`
int schema(Admin& a, Args& args);

// Open refused changes per device (`devices`: the ids to count for): one page of GET
// /v1/refused?status=open when that is all there is, else one `total` per device. `complete`
// is false only if the server gave no totals and the page was cut (counts are then lower
// bounds).
struct RefusedCounts {
  std::map<std::string, uint64_t> by_device;
  bool complete = true;
};
RefusedCounts open_refused_counts(Admin& a, const std::vector<std::string>& devices);

// Shared helpers (main.cpp).
std::vector<std::string> split_commas(const std::string& s);
std::string join(const Json& arr, const char* sep = ",");
std::optional<int64_t> opt_ms(const Json& j, const char* key);
// The review lists page (GET /v1/conflicts, /v1/duplicates, /v1/refused: `limit`, `after`,
// answer `next` and `total`). read_pages reads `target` (path and its own query) from
// `after`, one page or, with `all_pages`, until the end or kMaxListPages pages; `limit` 0 =
// the server's default page.
constexpr int kMaxListPages = 1000;
struct ListPages {
  Json entries = Json::array();
  std::string next;               // "" = the end was reached
  std::optional<uint64_t> total;  // every matching entry, all pages (if the server says)
};
ListPages read_pages(Admin& a, const std::string& target, const char* key, size_t limit,
                     const std::string& after, bool all_pages);
// The --limit/--after/--all-pages options of a list command.
struct PageOptions {
  size_t limit = 0;
  std::string after;
  bool all_pages = false;
};
PageOptions page_options(Args& args);
// After a table: "N of TOTAL shown; next: --after X, or --all-pages" when there is more.
void print_more(Admin& a, const ListPages& p, bool all_pages);

// Finds the one entry of the list at `target` (every page, bounded) whose id is `ref` or
// starts with it (lists show 8 characters).
Json find_entry(Admin& a, const std::string& target, const char* key, const std::string& ref,
                const std::string& what);
std::string field_name_text(Admin& a, const std::string& collection, const std::string& field);

}  // namespace lumbung::cli::admin
