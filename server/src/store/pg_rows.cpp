// Row readers of the PostgreSQL server store (pg_rows.h): the same rows as the SQLite
// store's readers (sqlite_rows.h), from libpq results.
#include "store/pg_rows.h"

namespace lumbung::server::pg {

std::string text_array(const std::vector<std::optional<std::string>>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    if (!items[i]) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (char ch : *items[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string text_array(const std::vector<std::string>& items) {
  return text_array(std::vector<std::optional<std::string>>(items.begin(), items.end()));
}

std::vector<std::string> scope_from_text(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& s : j) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

std::string scope_to_text(const std::vector<std::string>& scope) { return Json(scope).dump(); }

Json json_or_null(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json() : j;
}

DeviceRow read_device(const Result& r, int row) {
  // Column order: kDeviceCols
  DeviceRow d;
  d.device_id = r.text(row, 0);
  d.label = r.text(row, 1);
  d.scope = scope_from_text(r.view(row, 2));
  d.acked_seq = r.u64(row, 3);
  d.registered_ms = r.i64(row, 4);
  d.last_seen_ms = r.i64(row, 5);
  d.last_sync_ms = r.i64(row, 6);
  d.revoked_ms = r.i64(row, 7);
  d.status = json_or_null(r.view(row, 8));
  return d;
}

ConflictRow read_conflict(const Result& r, int row, const Sealer* s, std::string_view id) {
  // Column order: body, resolved, found_ms, resolution
  ConflictRow c;
  c.conflict =
      codec::decode_conflict(Json::parse(open_or_clear(s, "conflicts.body", id, r.view(row, 0))));
  c.resolved = r.i64(row, 1) != 0;
  c.found_ms = r.i64(row, 2);
  c.resolution = json_or_null(open_or_clear(s, "conflicts.resolution", id, r.view(row, 3)));
  return c;
}

DuplicateRow read_duplicate(const Result& r, int row, const Sealer* s) {
  // Column order: id, col, rid_a, rid_b, resolved, found_ms, resolution
  DuplicateRow d;
  d.id = r.text(row, 0);
  d.collection = r.text(row, 1);
  d.record_a = r.text(row, 2);
  d.record_b = r.text(row, 3);
  d.resolved = r.i64(row, 4) != 0;
  d.found_ms = r.i64(row, 5);
  d.resolution = json_or_null(open_or_clear(s, "duplicates.resolution", d.id, r.view(row, 6)));
  return d;
}

RefusedRow read_refused(const Result& r, int row, const Sealer* s) {
  // Column order: kRefusedCols
  RefusedRow f;
  f.id = r.text(row, 0);
  f.device = r.text(row, 1);
  f.seq = r.u64(row, 2);
  f.collection = r.text(row, 3);
  f.record_id = r.text(row, 4);
  f.code = r.text(row, 5);
  f.field = r.text(row, 6);
  f.message = open_or_clear(s, "refused.message", f.id, r.view(row, 7));
  f.op_text = open_or_clear(s, "refused.op", f.id, r.view(row, 8));
  f.scope = r.text(row, 9);
  f.found_ms = r.i64(row, 10);
  f.status = r.text(row, 11);
  f.resolution = json_or_null(open_or_clear(s, "refused.resolution", f.id, r.view(row, 12)));
  return f;
}

TokenRow read_token(const Result& r, int row) {
  // Column order: kTokenCols
  TokenRow t;
  t.id = r.text(row, 0).substr(0, kTokenIdHexDigits);
  t.role = role_from(r.view(row, 1)).value_or(Role::kReviewer);
  t.label = r.text(row, 2);
  t.created_ms = r.i64(row, 3);
  t.expires_ms = r.i64(row, 4);
  t.revoked_ms = r.i64(row, 5);
  t.scope = scope_from_text(r.view(row, 6));
  return t;
}

RecordState read_record(const Result& r, int row, int first, const Sealer* s,
                        const std::string& col, const std::string& id) {
  if (!s) {
    return codec::decode_state(r.view(row, first), r.view(row, first + 1), r.i64(row, first + 2),
                               r.view(row, first + 3));
  }
  std::optional<std::string_view> sealed;
  if (!r.null(row, first + 4)) sealed = r.view(row, first + 4);
  return codec::decode_state(s->join_doc(col, id, r.view(row, first), sealed),
                             r.view(row, first + 1), r.i64(row, first + 2), r.view(row, first + 3));
}

}  // namespace lumbung::server::pg
