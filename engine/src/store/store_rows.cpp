// The device store's rows (Store::Impl members declared in store_impl.h): a record saved
// or inserted (sealed and MAC'd on an encrypted store) or read back, a row's MAC, the
// settings (meta), a change-log row read back as an op, and the counters and region lists
// loaded at open.

#include "store/store_impl.h"

namespace lumbung {

std::string Store::Impl::row_mac_of(const sql::Statement& st, const char* domain, int first, int n,
                                    int changed, int64_t value) const {
  crypto::RowMac& m = keys->row_mac().begin(domain);
  for (int i = first; i < first + n; ++i) {
    if (i == changed) {
      m.add(value);
    } else if (st.column_is_null(i)) {
      m.add_null();
    } else {
      m.add(st.column_view(i));
    }
  }
  return m.finish();
}

RecordState Store::Impl::decode_row(const sql::Statement& st, int first, bool check) const {
  if (check) check_record_row(st, first);
  const int doc_col = first + rc::kDoc, ver_col = first + rc::kVer;
  const int64_t del_hlc = st.column_int(first + rc::kDelHlc);
  const std::string_view del_dev = st.column_view(first + rc::kDelDev);
  if (st.column_is_null(first + rc::kSealed)) {
    if (keys) throw_tampered("record " + st.column_text(first + rc::kId));
    return decode_state(st.column_view(doc_col), st.column_view(ver_col), del_hlc, del_dev);
  }
  const std::string id = st.column_text(first + rc::kId);
  if (!keys)
    throw Error(ErrorCode::kCorrupt, "record " + id + " is encrypted but the store is not");
  Json doc = Json::parse(st.column_view(doc_col), nullptr, false);
  Json priv = Json::parse(unseal(blob(st, first + rc::kSealed), "rec:" + id), nullptr, false);
  if (!doc.is_object() || !priv.is_object()) {
    throw Error(ErrorCode::kCorrupt, "stored record " + id + " is not JSON");
  }
  for (auto& [k, v] : priv.items()) doc[k] = std::move(v);
  return codec::decode_state(doc, st.column_view(ver_col), del_hlc, del_dev);
}

std::string Store::Impl::meta(const std::string& key) const {
  auto& st = db->prepare("SELECT key, value, mac FROM meta WHERE key=?1");
  st.bind(1, key);
  std::string out;
  if (st.step()) {
    if (keys && !meta_unmacked(key) && !row_intact(st, kMacMeta, 0, 2)) {
      st.reset();
      throw_tampered("setting \"" + key + "\"");
    }
    out = st.column_text(1);
  }
  st.reset();
  return out;
}

void Store::Impl::put_meta(const std::string& key, const std::string& value) {
  auto& st = db->prepare(
      "INSERT INTO meta(key,value,mac) VALUES(?1,?2,?3) ON CONFLICT(key) DO UPDATE SET "
      "value=?2, mac=?3");
  st.bind(1, key).bind(2, value);
  bind_mac(st, 3,
           keys && !meta_unmacked(key)
               ? keys->row_mac().begin(kMacMeta).add(key).add(value).finish()
               : std::string());
  st.run();
}

void Store::Impl::load_regions_and_away() {
  regions.clear();
  const Json r = Json::parse(meta("regions"), nullptr, false);
  if (r.is_array()) {
    for (const auto& p : r) {
      if (p.is_string()) regions.push_back(p.get<std::string>());
    }
  }
  away.clear();
  auto& st = db->prepare("SELECT id, mac FROM away");
  while (st.step()) {
    if (keys && !row_intact(st, kMacAway, 0, 1)) {
      const std::string id = st.column_text(0);
      st.reset();
      throw_tampered("the moved-away mark of record " + id);
    }
    away.insert(st.column_text(0));
  }
  st.reset();
}

uint64_t Store::Impl::reload_counters() {
  // The newest entry's seq (checked: a forged high seq would skip numbers).
  auto& st = db->prepare("SELECT " LB_CHANGE_COLS " FROM changes ORDER BY seq DESC LIMIT 1");
  next_seq = 1;
  uint64_t newest_hlc = 0;
  if (st.step()) {
    try {
      check_change_row(st, 0);
    } catch (...) {
      st.reset();
      throw;
    }
    next_seq = static_cast<uint64_t>(st.column_int(cc::kSeq)) + 1;
    newest_hlc = static_cast<uint64_t>(st.column_int(cc::kHlc));
  }
  st.reset();
  const std::string acked = meta("acked_seq");
  acked_seq = acked.empty() ? 0 : std::stoull(acked);
  return newest_hlc;
}

void Store::Impl::save(const CollectionSchema& cs, const std::string& id, const RecordState& st) {
  auto& ins = db->prepare(
      "INSERT INTO records(col,id,doc,ver,del_hlc,del_dev,live,scope,nkey,sealed,mac) "
      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11) ON CONFLICT(id) DO UPDATE SET "
      "doc=?3, ver=?4, del_hlc=?5, del_dev=?6, live=?7, scope=?8, nkey=?9, sealed=?10, "
      "mac=?11 WHERE col=?1");
  const std::string ver = encode_versions(st);
  const auto del_hlc = static_cast<int64_t>(st.tombstone.hlc);
  const int64_t live = st.live() && !is_away(id) ? 1 : 0;
  const IndexKeys k =
      index_keys(string_field(st, cs.scope_field()), string_field(st, cs.natural_key()));
  ins.bind_static(1, cs.name()).bind_static(2, id).bind_static(4, ver);
  ins.bind(5, del_hlc).bind_static(6, st.tombstone.device).bind(7, live);
  bind_index_keys(ins, 8, k);
  std::string doc, sealed;
  if (keys) {
    Json clear = Json::object(), priv = Json::object();
    for (const auto& [name, fv] : st.fields) (personal(cs, name) ? priv : clear)[name] = fv.value;
    doc = clear.dump();
    sealed = seal(priv.dump(), "rec:" + id);
    ins.bind_blob(10, sealed.data(), sealed.size());
    bind_mac(ins, 11,
             record_mac(cs.name(), id, doc, ver, del_hlc, st.tombstone.device, live, k, sealed));
  } else {
    doc = codec::encode_doc(st);
    ins.bind_null(10).bind_null(11);
  }
  ins.bind_static(3, doc);
  ins.run();
  if (db->changes() == 0) {
    throw Error(ErrorCode::kProtocol, "record id " + id + " belongs to another collection");
  }
}

// The hot path of imports and first pulls: a record this replica has never seen gets
// all its fields at one version. That is exactly what apply_op gives for a set applied to
// an empty state, written directly (no merge state built, the JSON made once). Returns
// false, writing nothing, if the id exists already.
bool Store::Impl::insert_fresh(const CollectionSchema& cs, const std::string& id,
                               const Json& fields, const Version& v,
                               const std::string* fields_text) {
  std::string doc, sealed;
  if (keys) {
    Json clear = Json::object(), priv = Json::object();
    for (const auto& [name, value] : fields.items()) {
      (personal(cs, name) ? priv : clear)[name] = value;
    }
    doc = clear.dump();
    sealed = seal(priv.dump(), "rec:" + id);
  } else {
    doc = fields_text ? *fields_text : fields.dump();
  }
  const std::string ver = codec::encode_one_version(v);
  const IndexKeys k =
      index_keys(string_field(fields, cs.scope_field()), string_field(fields, cs.natural_key()));
  auto& ins = db->prepare(
      "INSERT INTO records(col,id,doc,ver,live,scope,nkey,sealed,mac) "
      "VALUES(?1,?2,?3,?4,1,?5,?6,?7,?8)");
  ins.bind_static(1, cs.name()).bind_static(2, id).bind_static(3, doc).bind_static(4, ver);
  bind_index_keys(ins, 5, k);
  if (keys) {
    ins.bind_blob(7, sealed.data(), sealed.size());
    // del_hlc and del_dev take their defaults, 0 and ''.
    bind_mac(ins, 8, record_mac(cs.name(), id, doc, ver, 0, "", 1, k, sealed));
  } else {
    ins.bind_null(7).bind_null(8);
  }
  return ins.try_run();
}

// Rebuilds a log entry from its row (LB_CHANGE_COLS), after checking its MAC.
Op Store::Impl::change_from_row(const sql::Statement& row) const {
  check_change_row(row, 0);
  const auto seq = static_cast<uint64_t>(row.column_int(cc::kSeq));
  if (!row.column_is_null(cc::kOp) || !row.column_is_null(cc::kSealed)) {
    const std::string text = row.column_is_null(cc::kOp)
                                 ? unseal(blob(row, cc::kSealed), "chg:" + std::to_string(seq))
                                 : row.column_text(cc::kOp);
    try {
      return decode_op(Json::parse(text), device);
    } catch (const Json::exception& e) {
      throw Error(ErrorCode::kCorrupt, std::string("change log entry is not JSON: ") + e.what());
    }
  }
  std::string col = row.column_text(cc::kCol), id = row.column_text(cc::kId);
  auto st = load(col, id);
  if (!st) throw_create_without_record(seq, id);
  return create_op(seq, std::move(col), std::move(id),
                   static_cast<uint64_t>(row.column_int(cc::kHlc)), st);
}

}  // namespace lumbung
