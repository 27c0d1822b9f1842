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
  std::string pin;               // the server's key pin given with --pin / LUMBUNG_PIN, if any
  std::istream* in = &std::cin;  // answers to "are you sure" (review decisions)
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
  std::shared_ptr<const Schema> schema;  // fetched on first need
  // Read once per run, on first need (review_view.cpp): records by id (null: not readable),
  // device labels, region names.
  std::map<std::string, Json> records;
  std::optional<std::map<std::string, std::string>> device_labels;
  std::optional<std::map<std::string, std::string>> region_names;

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
// review_view.cpp: how the review screens name people, officers and decisions.
// The record as GET /v1/web/records/{id} gives it ({"fields", "deleted", ...}); null when
// the server does not show it to this token (another region, an older server).
const Json& record_of(Admin& a, const std::string& record_id);
// "740201******0001": the NIK's first six digits (the kecamatan that issued it) and its last
// four, enough to tell people apart on a screen, not enough to copy one (lists and previews
// only: `--json` and the duplicates' field-by-field table keep it whole).
std::string mask_nik(const std::string& nik);
// "Awuliti (74.02.01.2006)" from the server's region names (/wilayah.csv); the dotted code
// alone when the name is not known.
std::string desa_text(Admin& a, const std::string& code);
// "Siti Rahmawati · 740201******0001 · Awuliti (74.02.01.2006)": who a record is about;
// its short id when the server cannot say.
std::string person_of(Admin& a, const std::string& record_id, const std::string& collection);
// "Laptop Awuliti (dev-ab12)": a device by its label (GET /v1/admin/devices, admin tokens);
// "kantor pusat" for the server's own decisions; the id alone otherwise.
std::string officer_of(Admin& a, const std::string& device_id);
// A resolved entry's decision: "→ 0812… · Ibu Sari (reviewer) · 2026-12-04 15:00 WIB";
// "" while it is open.
std::string decision_text(Admin& a, const Json& entry);
// Asks "Lanjutkan? [y/N]" on the terminal unless `yes` (--yes); false on anything but
// y/ya/yes or when the input ends.
bool confirm(Admin& a, bool yes);

// reports.cpp
int progress(Admin& a, Args& args);
int export_cmd(Admin& a, Args& args);
// `audit list`'s page (GET /v1/admin/audit) as a table, or as it came with --json.
int audit_list(Admin& a, const Json& page);
// refused.cpp
int refused(Admin& a, Args& args);
// schema.cpp: `schema publish FILE`, `schema list`
int schema(Admin& a, Args& args);
// migrate.cpp: `migrate --data DIR --db URL`, SQLite to PostgreSQL, without the HTTP API.
int migrate(Admin& a, Args& args);

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
