// The store's reads of records: one by id, by natural key, a page of a collection (by
// region prefix), and counts. Layout of the tables: store.cpp.
#include "lumbung/store.h"
#include "lumbung/tuning.h"
#include "store/store_impl.h"

namespace lumbung {

std::optional<Record> Store::get(const std::string& collection, const std::string& id,
                                 bool include_deleted) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto st = impl_->load(collection, id);
  if (!st || (!include_deleted && !st->live())) return std::nullopt;
  if (impl_->is_away(id) && !include_deleted) return std::nullopt;
  return impl_->to_record(collection, id, *st);
}

namespace {

// "74.02" -> the scope-key range of Konawe; "" -> nullopt (everything).
std::optional<std::pair<int64_t, int64_t>> parse_scope_prefix(const std::string& prefix) {
  if (prefix.empty()) return std::nullopt;
  std::string digits;
  for (char c : prefix) {
    if (c != '.') digits.push_back(c);
  }
  auto range = codec::scope_range(digits);
  if (!range) {
    throw Error(ErrorCode::kInvalidArgument,
                "scope prefix must be a region code of 1..10 digits, got \"" + prefix + "\"");
  }
  return range;
}

}  // namespace

std::vector<Record> Store::find_by_key(const std::string& collection,
                                       const std::string& key) const {
  const CollectionSchema& cs = impl_->collection(collection);
  std::vector<Record> out;
  if (cs.natural_key().empty()) return out;
  const FieldDef* def = cs.field(cs.natural_key());
  Json norm = def ? cs.normalize_value(*def, Json(key)) : Json(key);
  if (!norm.is_string()) return out;
  const std::string& key_text = norm.get_ref<const std::string&>();
  const codec::NaturalKey nk = codec::natural_key(key_text);
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare("SELECT " LB_RECORD_COLS
                                " FROM records WHERE nkey=?2 AND col=?1 AND live=1 ORDER BY id");
  st.bind(1, collection);
  if (impl_->keys) {
    st.bind(2, impl_->keys->blind_index(key_text));
  } else if (nk.is_int) {
    st.bind(2, nk.i);
  } else {
    st.bind(2, nk.text);
  }
  try {
    while (st.step()) {
      std::string id = st.column_text(rc::kId);
      Record r = impl_->to_record(collection, id, impl_->decode_row(st, 0));
      // A blind index can collide; the decrypted value decides.
      if (r.fields.value(cs.natural_key(), Json()) == norm) out.push_back(std::move(r));
    }
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return out;
}

Page Store::query(const Query& q) const {
  const CollectionSchema& cs = impl_->collection(q.collection);
  const size_t limit = q.limit == 0 ? kDefaultQueryPageSize : std::min(q.limit, kMaxQueryPageSize);
  const auto range = parse_scope_prefix(q.scope_prefix);
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT " LB_RECORD_COLS
      " FROM records WHERE col=?1 AND id>?2 "
      "AND (?3 IS NULL OR (scope>=?3 AND scope<?4)) AND (?5 OR live=1) ORDER BY id LIMIT ?6");
  st.bind(1, cs.name()).bind(2, q.after_id);
  if (range) {
    st.bind(3, range->first).bind(4, range->second);
  } else {
    st.bind_null(3).bind_null(4);
  }
  st.bind(5, int64_t{q.include_deleted ? 1 : 0}).bind(6, static_cast<int64_t>(limit + 1));
  Page page;
  try {
    while (st.step()) {
      if (page.records.size() == limit) {
        page.next_after = page.records.back().id;
        break;
      }
      std::string id = st.column_text(rc::kId);
      page.records.push_back(impl_->to_record(q.collection, id, impl_->decode_row(st, 0)));
    }
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return page;
}

uint64_t Store::count(const std::string& collection, const std::string& scope_prefix) const {
  const auto range = parse_scope_prefix(scope_prefix);
  std::lock_guard<std::mutex> lock(impl_->mu);
  // Two statements so that the prefix count can use the scope index.
  auto& st = range ? impl_->db->prepare(
                         "SELECT count(*) FROM records WHERE scope>=?2 AND scope<?3 AND col=?1 "
                         "AND live=1")
                   : impl_->db->prepare("SELECT count(*) FROM records WHERE col=?1 AND live=1");
  st.bind(1, collection);
  if (range) st.bind(2, range->first).bind(3, range->second);
  st.step();
  auto n = static_cast<uint64_t>(st.column_int(0));
  st.reset();
  return n;
}

}  // namespace lumbung
