#include "record_view.h"

#include <ostream>

#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "lumbung/changeset.h"
#include "lumbung/error.h"
#include "lumbung/tuning.h"

namespace lumbung::cli {

void for_each_record(const Store& store, const CollectionSchema& cs, bool include_deleted,
                     const std::function<void(const Record&)>& fn,
                     const std::string& scope_prefix) {
  Query q;
  q.collection = cs.name();
  q.include_deleted = include_deleted;
  q.scope_prefix = scope_prefix;
  q.limit = kMaxQueryPageSize;
  // Each page moves the keyset forward, so this ends; the bound is a guard against a bug.
  for (int page = 0; page < 1000000; ++page) {
    Page p = store.query(q);
    for (const Record& r : p.records) fn(r);
    if (p.next_after.empty()) break;
    q.after_id = p.next_after;
  }
}

Record resolve_record(const Store& store, const CollectionSchema& cs, const std::string& ref) {
  if (ref.empty()) throw Error(ErrorCode::kInvalidArgument, tr("record.need_ref"));
  if (auto r = store.get(cs.name(), ref)) return *r;
  if (!cs.natural_key().empty()) {
    const std::vector<Record> byKey = store.find_by_key(cs.name(), ref);
    if (byKey.size() == 1) return byKey.front();
    if (byKey.size() > 1) {
      throw Error(ErrorCode::kInvalidArgument,
                  tr("record.ambiguous_key", {{"ref", ref}, {"n", std::to_string(byKey.size())}}));
    }
  }
  std::vector<Record> found;
  if (ref.size() >= 6) {
    for_each_record(store, cs, false, [&](const Record& r) {
      if (r.id.compare(0, ref.size(), ref) == 0 ||
          (r.id.size() >= ref.size() &&
           r.id.compare(r.id.size() - ref.size(), ref.size(), ref) == 0)) {
        found.push_back(r);
      }
    });
  }
  if (found.size() == 1) return found.front();
  if (found.size() > 1) {
    throw Error(ErrorCode::kInvalidArgument,
                tr("record.ambiguous", {{"ref", ref}, {"n", std::to_string(found.size())}}));
  }
  throw Error(ErrorCode::kNotFound, tr("record.not_found", {{"ref", ref}}));
}

void print_record(std::ostream& out, const CollectionSchema& cs, const Record& r) {
  std::vector<std::vector<std::string>> rows;
  if (!r.id.empty()) rows.push_back({"id", r.id});
  for (const FieldDef& f : cs.fields()) {
    auto it = r.fields.find(f.name);
    if (it == r.fields.end() || it->is_null()) continue;
    if (f.type == FieldType::kAttachment) continue;  // listed with their state (cmd_attach.cpp)
    if (f.type == FieldType::kObjectList && it->is_array()) {
      int n = 0;
      for (const Json& item : *it) {
        std::string text;
        for (const FieldDef& sub : f.item_fields) {
          auto s = item.find(sub.name);
          if (s == item.end() || s->is_null()) continue;
          if (!text.empty()) text += ", ";
          text += value_display(sub, *s);
        }
        rows.push_back({field_label(f) + " #" + std::to_string(++n), text});
      }
      continue;
    }
    rows.push_back({field_label(f), value_display(f, *it)});
  }
  if (r.deleted) rows.push_back({tr("record.deleted_label"), tr("yes")});
  size_t w = 0;
  for (const auto& row : rows) w = std::max(w, utf8_width(row[0]));
  for (const auto& row : rows) {
    // Values come from records (typed in, imported, or pulled from other laptops).
    out << "  " << row[0] << std::string(w - utf8_width(row[0]) + 2, ' ') << printable(row[1])
        << "\n";
  }
}

Json record_json(const Record& r, bool with_versions) {
  Json j{{"id", r.id}, {"fields", r.fields}, {"deleted", r.deleted}};
  if (with_versions) {
    Json v = Json::object();
    for (const auto& [field, ver] : r.versions) v[field] = encode_version(ver);
    j["versions"] = v;
  }
  return j;
}

void print_record_table(std::ostream& out, const CollectionSchema& cs,
                        const std::vector<Record>& records) {
  const auto cols = summary_fields(cs);
  std::vector<std::string> headers{"id"};
  for (const FieldDef* f : cols) headers.push_back(field_label(*f));
  std::vector<std::vector<std::string>> rows;
  for (const Record& r : records) {
    std::vector<std::string> row{short_id(r.id)};
    for (const FieldDef* f : cols) {
      auto it = r.fields.find(f->name);
      row.push_back(it == r.fields.end() ? "" : value_display(*f, *it, true));
    }
    rows.push_back(std::move(row));
  }
  print_table(out, headers, rows, 32);
}

void print_issues(std::ostream& out, const CollectionSchema& cs,
                  const std::vector<ValidationIssue>& issues, const Json* record) {
  for (const ValidationIssue& i : issues) out << "  ✗ " << issue_text(i, cs, record) << "\n";
}

}  // namespace lumbung::cli
