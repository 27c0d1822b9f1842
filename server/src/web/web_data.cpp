// The data endpoints of the office page: progress, enrolment search and export, one record,
// status moves. Scope: reader_prefix / reader_sees (review/reader_scope.h), as the review API.
#include <algorithm>
#include <cctype>

#include "api/problem.h"
#include "lumbung/changeset.h"
#include "review/reader_scope.h"
#include "review/record_history.h"
#include "review/review_service.h"
#include "store/record_codec.h"
#include "sync/op_upgrade.h"
#include "web/targets.h"
#include "web/web_app.h"
#include "web/web_util.h"

namespace lumbung::server {
namespace {

// Region code lengths (digits, no dots) of provinsi, kabupaten, kecamatan, desa.
size_t child_level_len(size_t prefix_len) {
  if (prefix_len < 2) return 2;
  if (prefix_len < 4) return 4;
  if (prefix_len < 6) return 6;
  return 10;
}

// Most distinct officers one progress answer lists (the rest are summed in "...") and most
// days (the latest).
constexpr size_t kMaxOfficers = 300;
constexpr size_t kMaxDays = 120;

std::string lower_ascii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string str_field(const Json& doc, const char* name) {
  auto it = doc.find(name);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct Filter {
  std::string q_digits;  // NIK (or its start) when q is digits
  std::string q_name;    // lower-case part of the name otherwise
  std::string status, program, segment, officer, from, to;
  bool deleted = false;  // include deleted records

  explicit Filter(const std::map<std::string, std::string>& q) {
    std::string text = web::param(q, "q");
    text.erase(std::remove(text.begin(), text.end(), ' '), text.end());
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
      q_digits = text;
    } else {
      q_name = lower_ascii(web::param(q, "q"));
    }
    status = web::param(q, "status");
    program = web::param(q, "program");
    segment = web::param(q, "segment");
    officer = web::param(q, "officer");
    from = web::param(q, "from");  // YYYY-MM-DD, compared with created_at's date
    to = web::param(q, "to");
    deleted = web::param(q, "deleted") == "1";
  }

  bool match(const Json& doc, bool live) const {
    if (!live && !deleted) return false;
    if (!q_digits.empty() && str_field(doc, "nik").compare(0, q_digits.size(), q_digits) != 0)
      return false;
    if (!q_name.empty() &&
        lower_ascii(str_field(doc, "full_name")).find(q_name) == std::string::npos)
      return false;
    if (!status.empty() && str_field(doc, "status") != status) return false;
    if (!segment.empty() && str_field(doc, "segment") != segment) return false;
    if (!officer.empty() && str_field(doc, "officer_id") != officer) return false;
    if (!program.empty()) {
      auto it = doc.find("programs");
      if (it == doc.end() || !it->is_array() ||
          std::find(it->begin(), it->end(), Json(program)) == it->end())
        return false;
    }
    const std::string day = str_field(doc, "created_at").substr(0, 10);
    if (!from.empty() && day < from) return false;
    if (!to.empty() && day > to) return false;
    return true;
  }
};

// One CSV cell for Excel in the Indonesian locale (';' separated). A cell that starts with
// = + - @ (or a tab/CR) would run as a formula in Excel: it gets a leading apostrophe
// (names and every field are hostile input).
std::string csv_cell(const Json& v) {
  std::string s;
  if (v.is_null()) return s;
  if (v.is_string()) {
    s = v.get<std::string>();
  } else if (v.is_array()) {
    for (const auto& m : v) {
      if (!s.empty()) s += ',';
      s += m.is_string() ? m.get<std::string>() : m.dump();
    }
  } else {
    s = v.dump();
  }
  if (!s.empty() && std::string("=+-@\t\r").find(s[0]) != std::string::npos) s = "'" + s;
  if (s.find_first_of(";\"\r\n") != std::string::npos) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"') q += '"';
      q += c;
    }
    return q + "\"";
  }
  return s;
}

}  // namespace

Response WebApp::progress(const Request& req, const Principal& who) {
  const auto q = web::parse_query(req.query);
  const std::string col = collection();
  const std::string prefix = reader_prefix(who, web::param(q, "scope"));
  const size_t child_len = child_level_len(prefix.size());
  struct Tally {
    uint64_t total = 0;
    std::map<std::string, uint64_t> by_status;
  };
  Tally all;
  std::map<std::string, Tally> children;
  std::map<std::string, uint64_t, std::less<>> by_program, by_segment, by_officer, by_day;
  // The counts kept as records change (store/record_counts.h): a few rows per desa, not
  // every record (1 M records: docs/BENCHMARKS.md "progress").
  store_.for_each_count(
      col, prefix, [&](std::string_view sc, std::string_view dim, std::string_view key, int64_t n) {
        const auto c = static_cast<uint64_t>(n);
        auto bump = [c](auto& m, std::string_view k) {
          auto it = m.find(k);
          if (it == m.end()) it = m.emplace(std::string(k), 0).first;
          it->second += c;
        };
        if (dim == "status") {
          all.total += c;
          all.by_status[std::string(key)] += c;
          if (sc.size() >= child_len) {
            Tally& t = children[std::string(sc.substr(0, child_len))];
            t.total += c;
            t.by_status[std::string(key)] += c;
          }
        } else if (dim == "set:programs") {
          bump(by_program, key);
        } else if (dim == "segment") {
          bump(by_segment, key);
        } else if (dim == "officer") {
          bump(by_officer, key);
        } else if (dim == "day") {
          bump(by_day, key);
        }
      });
  // The busiest officers (the rest summed in "...") and the latest days.
  if (by_officer.size() > kMaxOfficers) {
    std::vector<std::pair<uint64_t, std::string>> order;
    for (const auto& [k, n] : by_officer) order.emplace_back(n, k);
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    uint64_t rest = 0;
    for (size_t i = kMaxOfficers - 1; i < order.size(); ++i) {
      rest += order[i].first;
      by_officer.erase(order[i].second);
    }
    by_officer["..."] += rest;
  }
  while (by_day.size() > kMaxDays) by_day.erase(by_day.begin());
  // Targets (web/targets.h): a child with a target and no record yet is listed too.
  const TargetSums targets(store_.list_targets(col, prefix));
  for (const std::string& code : targets.codes(prefix, child_len)) children[code];
  Json kids = Json::array();
  for (const auto& [code, t] : children) {
    Json kid{{"code", code}, {"total", t.total}, {"by_status", t.by_status}};
    put_target(kid, targets.of(code), t.total);
    kids.push_back(std::move(kid));
  }
  Json top{{"target", nullptr}};
  put_target(top, targets.of(prefix), all.total);
  // Laptops in these regions still on an older schema version (issue 18): device -> the
  // newest version it pushed under (sync/op_upgrade.h device_versions).
  const int active = sync_.schema().version();
  Json older = Json::object();
  const auto versions = device_versions(store_);
  for (const DeviceRow& d : store_.list_devices()) {
    auto v = versions.find(d.device_id);
    if (d.revoked_ms != 0 || v == versions.end() || v->second >= active) continue;
    const bool here = std::any_of(d.scope.begin(), d.scope.end(), [&](const std::string& s) {
      return s.rfind(prefix, 0) == 0 || prefix.rfind(s, 0) == 0;
    });
    if (here) older[d.device_id] = v->second;
  }
  return web::json_answer(Json{{"scope", prefix},
                               {"schema_version", active},
                               {"older_schema_devices", std::move(older)},
                               {"target", top["target"]},
                               {"percent", top.value("percent", Json())},
                               {"level_len", child_len},
                               {"total", all.total},
                               {"by_status", all.by_status},
                               {"by_program", by_program},
                               {"by_segment", by_segment},
                               {"by_officer", by_officer},
                               {"by_day", by_day},
                               {"children", std::move(kids)},
                               {"server_time_ms", sync_.now_ms()}});
}

Response WebApp::enrolments(const Request& req, const Principal& who, bool csv) {
  const auto q = web::parse_query(req.query);
  const std::string col = collection();
  const CollectionSchema* cs = sync_.schema().collection(col);
  const std::string prefix = reader_prefix(who, web::param(q, "scope"));
  const Filter filter(q);
  const size_t limit = csv ? kWebMaxExportRows + 1 : web::size_param(q, "limit", 50, kWebMaxPage);
  std::string after = csv ? std::string() : web::param(q, "after");
  if (after.size() > 200) throw Error(ErrorCode::kInvalidArgument, "after is too long");

  // Columns of the export: the schema's fields in order, or those named in cols= (the
  // page's choice).
  std::vector<std::string> cols;
  const std::string wanted = web::param(q, "cols");
  for (const FieldDef& f : cs->fields()) {
    if (wanted.empty() || ("," + wanted + ",").find("," + f.name + ",") != std::string::npos)
      cols.push_back(f.name);
  }
  // UTF-8 with a BOM (Excel otherwise reads it as ANSI and breaks names), ';' between cells
  // (the Indonesian locale's list separator: ',' is its decimal mark), CRLF rows. Rows are
  // written as they are found: the export holds text, not records.
  std::string out = "\xEF\xBB\xBF";
  if (csv) {
    out += "id";
    for (const auto& c : cols) out += ";" + c;
    out += "\r\n";
  }
  Json page = Json::array();
  if (!csv && filter.q_digits.size() == 16 && !filter.deleted && cs->natural_key() == "nik") {
    // A whole NIK: the natural-key index (a blind index when sealed) instead of a scan that
    // opens every record (100k records: 1.8 s scanned, milliseconds this way). The index is
    // read inside a write transaction (the only place the store offers it), rolled back.
    std::vector<std::string> ids;
    {
      auto txn = store_.begin_write();
      ids = txn->live_ids_with_key(col, filter.q_digits, kWebMaxPage);
    }
    for (const std::string& id : ids) {
      auto st = store_.get_record(col, id);
      if (!st || !reader_sees(who, scope_of(*cs, *st))) continue;
      const std::string sc = scope_of(*cs, *st);
      if (sc.compare(0, prefix.size(), prefix) != 0) continue;
      if (!filter.match(st->values(), st->live())) continue;
      Json j = record_json(id, *st);
      j.erase("versions");
      page.push_back(std::move(j));
    }
    return web::json_answer(Json{
        {"records", std::move(page)}, {"next", ""}, {"scanned", ids.size()}, {"scope", prefix}});
  }
  size_t hits = 0;
  size_t scanned = 0;
  bool exhausted = false;  // every record under the prefix was examined
  // Pages of 1,000 by id; at most kWebMaxScan records examined per request.
  while (hits < limit && scanned < kWebMaxScan) {
    auto rows = store_.list_records(col, prefix, after, 1000);
    size_t used = 0;
    for (auto& r : rows) {
      ++scanned;
      ++used;
      after = r.id;
      const Json v = r.state.values();
      if (filter.match(v, r.state.live())) {
        ++hits;
        if (!csv) {
          Json j = record_json(r.id, r.state);
          j.erase("versions");
          page.push_back(std::move(j));
        } else if (hits <= kWebMaxExportRows) {
          out += csv_cell(Json(r.id));
          for (const auto& c : cols) {
            auto it = v.find(c);
            out += ";" + (it == v.end() ? std::string() : csv_cell(*it));
          }
          out += "\r\n";
        }
      }
      if (hits >= limit || scanned >= kWebMaxScan) break;
    }
    if (used == rows.size() && rows.size() < 1000) {
      exhausted = true;
      break;
    }
  }
  if (!csv) {
    return web::json_answer(Json{{"records", std::move(page)},
                                 {"next", exhausted ? std::string() : after},
                                 {"scanned", scanned},
                                 {"scope", prefix}});
  }
  if (!exhausted) {
    throw ProblemError(ErrorCode::kInvalidArgument,
                       "more than " + std::to_string(kWebMaxExportRows) +
                           " rows (or records to examine) match; narrow the region or filters",
                       Json{{"reason", "export_too_large"}});
  }
  Response resp;
  resp.content_type = "text/csv; charset=utf-8";
  resp.body = std::move(out);
  resp.headers["Content-Disposition"] = "attachment; filename=\"peserta-" +
                                        (prefix.empty() ? std::string("semua") : prefix) + ".csv\"";
  if (audit_) {
    try {
      audit_->record(&who, "web_export", prefix, Json{{"rows", hits}});
    } catch (...) {
    }
  }
  return resp;
}

Response WebApp::record(const std::string& id, const Principal& who) {
  const std::string col = collection();
  const CollectionSchema* cs = sync_.schema().collection(col);
  auto st = store_.get_record(col, id);
  const std::string scope = st ? scope_of(*cs, *st) : std::string();
  if (!st || !reader_sees(who, scope)) throw Error(ErrorCode::kNotFound, "no record with this id");
  Json j = record_json(id, *st);
  j["scope"] = scope;
  // The last write of each field: who (device), when (hlc physical time).
  Json last = Json::object();
  for (const auto& [name, fv] : st->fields) {
    last[name] = Json{{"device", fv.version.device}, {"at_ms", hlc::physical_ms(fv.version.hlc)}};
  }
  j["last_write"] = std::move(last);
  // Its review entries: the queues are read by the record's own region (a desa has few),
  // at most 5 pages of each.
  ReviewQuery rq;
  rq.status = "all";
  rq.prefixes = {scope};
  rq.limit = 1000;
  Json conflicts = Json::array();
  for (int page = 0; page < 5; ++page) {
    auto p = store_.list_conflicts(rq);
    for (const auto& row : p.rows) {
      if (row.conflict.record_id != id) continue;
      Json c = codec::encode_conflict(row.conflict);
      c["status"] = row.resolved ? "resolved" : "open";
      c["found_ms"] = row.found_ms;
      c["resolution"] = row.resolution;
      conflicts.push_back(std::move(c));
    }
    if (p.next.empty()) break;
    rq.after = p.next;
  }
  rq.after.clear();
  Json dups = Json::array();
  for (int page = 0; page < 5; ++page) {
    auto p = store_.list_duplicates(rq);
    for (const auto& d : p.rows) {
      if (d.record_a != id && d.record_b != id) continue;
      dups.push_back(Json{{"id", d.id},
                          {"record_ids", Json::array({d.record_a, d.record_b})},
                          {"status", d.resolved ? "merged" : "open"},
                          {"found_ms", d.found_ms},
                          {"resolution", d.resolution}});
    }
    if (p.next.empty()) break;
    rq.after = p.next;
  }
  rq.after.clear();
  Json refused = Json::array();
  for (int page = 0; page < 5; ++page) {
    auto p = store_.list_refused(rq);
    for (const auto& r : p.rows) {
      if (r.record_id == id) refused.push_back(refused_json(r));
    }
    if (p.next.empty()) break;
    rq.after = p.next;
  }
  j["conflicts"] = std::move(conflicts);
  j["duplicates"] = std::move(dups);
  j["refused"] = std::move(refused);
  return web::json_answer(j);
}

// A reviewer's status decision, written like a conflict resolution: a server op through
// OpWriter (the one write path), in the oplog, pulled by the region's laptops.
Response WebApp::move_status(const std::string& id, const Json& body, const Principal& who) {
  static const std::vector<std::string> kMoves = {"verified", "rejected", "enrolled"};
  if (!body.is_object() || body.size() != 1 || !body.contains("status") ||
      !body["status"].is_string() ||
      std::find(kMoves.begin(), kMoves.end(), body["status"].get<std::string>()) == kMoves.end()) {
    throw Error(ErrorCode::kInvalidArgument,
                "body must be {\"status\": \"verified\" | \"rejected\" | \"enrolled\"}");
  }
  const std::string want = body["status"].get<std::string>();
  const std::string col = collection();
  const CollectionSchema& cs = *sync_.schema().collection(col);
  const FieldDef* def = cs.field("status");
  if (!def) throw Error(ErrorCode::kUnknownField, "this schema has no status field");
  const int64_t now = sync_.now_ms();
  auto txn = store_.begin_write();
  auto st = txn->load_record(col, id);
  if (!st || !st->live() || !reader_sees(who, scope_of(cs, *st)))
    throw Error(ErrorCode::kNotFound, "no record with this id");
  auto cur = st->fields.find("status");
  if (cur != st->fields.end() && !cur->second.value.is_null()) {
    if (cur->second.value == Json(want))
      throw Error(ErrorCode::kAlreadyExists, "the record already has status " + want);
    if (def->rank(Json(want)) < def->rank(cur->second.value)) {
      throw ProblemError(ErrorCode::kStatusRegression,
                         "status can only move forward: " + cur->second.value.get<std::string>() +
                             " cannot become " + want,
                         Json{{"field", "status"}}, "status");
    }
  }
  Op op = sync_.writer().new_server_op(*txn);
  op.collection = col;
  op.id = id;
  op.set = Json{{"status", want}};
  // The reviewer saw the status as it is now: a laptop's later change is not buried.
  if (cur != st->fields.end()) op.base["status"] = cur->second.version;
  txn->clock_observe(sync_.clock(), op.version.hlc);
  sync_.writer().apply(*txn, cs, op, OpContext{}, now);
  sync_.writer().settle_waiting(*txn, now);
  // Who moved it, with the op: the record's history names the reviewer.
  record_op_author(*txn, op.version.hlc, id, who);
  txn->set_meta("clock", std::to_string(sync_.clock().last()));
  txn->commit();
  txn.reset();  // the store's one writer: the audit entry below takes it again
  if (audit_) {
    try {
      audit_->record(&who, "web_status", id, Json{{"status", want}, {"hlc", op.version.hlc}});
    } catch (...) {
    }
  }
  return web::json_answer(Json{{"id", id}, {"status", want}, {"op", encode_op(op, true)}});
}

}  // namespace lumbung::server
