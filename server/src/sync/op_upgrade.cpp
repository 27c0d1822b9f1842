#include "sync/op_upgrade.h"

#include <chrono>
#include <vector>

#include "lumbung/error.h"
#include "schema/validators.h"

namespace lumbung::server {
namespace {

std::string key_of(int version) { return "schema.v" + std::to_string(version); }

// The stored documents 1..N that exist, in order (a server that started on a file of
// version K > 1 holds K.. only).
std::vector<Json> stored_documents(ServerStore& store) {
  std::vector<Json> docs;
  const std::string first = store.read_meta("schema.first");
  if (first.empty()) return docs;
  for (int v = std::stoi(first); v < 1000000; ++v) {
    const std::string text = store.read_meta(key_of(v));
    if (text.empty()) break;
    docs.push_back(Json::parse(text));
  }
  return docs;
}

// Renames and retires fields of every stored record from `from` to the history's current
// version, inside `txn` (the caller commits). Returns the records changed.
size_t migrate_in(ServerStore& store, WriteTxn* txn, const SchemaHistory& h, int from) {
  size_t changed = 0;
  for (const CollectionSchema& cs : h.current().collections()) {
    std::string after;
    for (;;) {
      std::vector<RecordRow> rows = store.list_records(cs.name(), "", after, 1000);
      if (rows.empty()) break;
      after = rows.back().id;
      for (RecordRow& r : rows) {
        std::optional<RecordState> st = txn->load_record(cs.name(), r.id);
        if (!st) continue;
        RecordState next;
        next.tombstone = st->tombstone;
        bool moved = false;
        for (auto& [name, fv] : st->fields) {
          const std::string now = h.current_name(cs.name(), name, from);
          moved = moved || now != name;
          // A retired field's values stay in the oplog (the record's history), not here.
          if (!now.empty()) next.fields[now] = std::move(fv);
        }
        if (!moved) continue;
        std::optional<std::string> nkey;
        if (auto it = next.fields.find(cs.natural_key());
            !cs.natural_key().empty() && it != next.fields.end() && it->second.value.is_string()) {
          nkey = it->second.value.get<std::string>();
        }
        txn->save_record(cs.name(), r.id, next, scope_of(cs, next), nkey);
        ++changed;
      }
    }
  }
  txn->set_meta("schema.active", std::to_string(h.current_version()));
  return changed;
}

size_t migrate_records(ServerStore& store, const SchemaHistory& h, int from) {
  auto txn = store.begin_write();
  // Alone, as a publication: servers already running on the database wait, then catch up.
  txn->pin_schema_version(/*publishing=*/true);
  txn->pinned_schema = -1;
  const size_t changed = migrate_in(store, txn.get(), h, from);
  txn->commit();
  return changed;
}

}  // namespace

int newest_schema_version(ServerStore& store) {
  const auto docs = stored_documents(store);
  return docs.empty() ? 0 : docs.back().value("version", 0);
}

Json newest_schema_document(ServerStore& store) {
  auto docs = stored_documents(store);
  return docs.empty() ? Json::object() : docs.back();
}

SchemaStart open_schema_versions(ServerStore& store, const Json& file_document) {
  SchemaStart out;
  const auto file_schema = Schema::parse(file_document);
  parse_changelog(file_document);
  std::vector<Json> docs = stored_documents(store);
  const int file_v = file_schema->version();
  if (docs.empty()) {
    auto txn = store.begin_write();
    txn->set_meta(key_of(file_v), file_document.dump());
    txn->set_meta("schema.first", std::to_string(file_v));
    txn->set_meta("schema.active", std::to_string(file_v));
    txn->commit();
    docs.push_back(file_document);
  } else {
    const int newest = docs.back().value("version", 0);
    const auto at = [&](int v) -> const Json* {
      for (const auto& d : docs) {
        if (d.value("version", 0) == v) return &d;
      }
      return nullptr;
    };
    if (const Json* same = at(file_v); same && *same != file_document) {
      throw Error(ErrorCode::kSchemaInvalid,
                  "the schema file says version " + std::to_string(file_v) +
                      " but differs from the version " + std::to_string(file_v) +
                      " this database has served; give the changed file version " +
                      std::to_string(newest + 1) + " and a changelog entry");
    }
    if (file_v == newest + 1) {
      check_successor(docs.back(), file_document);
      auto txn = store.begin_write();
      txn->set_meta(key_of(file_v), file_document.dump());
      txn->commit();
      docs.push_back(file_document);
      out.note = "published schema version " + std::to_string(file_v) + " from the file";
    } else if (file_v > newest + 1) {
      throw Error(ErrorCode::kSchemaInvalid,
                  "the schema file is version " + std::to_string(file_v) +
                      " but this database's newest is " + std::to_string(newest) +
                      ": publish the versions between first");
    } else if (file_v < newest) {
      out.note = "the database holds schema version " + std::to_string(newest) +
                 " (newer than the file's " + std::to_string(file_v) + "): using it";
    }
  }
  out.history = std::make_unique<SchemaHistory>(docs);
  if (store.read_meta("schema.active").empty()) {
    auto txn = store.begin_write();
    txn->set_meta("schema.active", std::to_string(docs.front().value("version", 1)));
    txn->commit();
  }
  return out;
}

std::string activate_schema_version(ServerStore& store, const SchemaHistory& h) {
  const int active = std::stoi(store.read_meta("schema.active"));
  if (active == h.current_version()) return "";
  const size_t n = migrate_records(store, h, active);
  return "schema version " + std::to_string(h.current_version()) + " active (was " +
         std::to_string(active) + "), " + std::to_string(n) + " records migrated";
}

Json publish_schema(ServerStore& store, const Json& document, int active_version) {
  std::vector<Json> docs = stored_documents(store);
  if (docs.empty()) throw Error(ErrorCode::kSchemaInvalid, "this server has no schema yet");
  check_successor(docs.back(), document);
  const int v = document.value("version", 0);
  auto txn = store.begin_write();
  // Re-read under the write lock: two publications of the same version, one wins.
  if (!txn->meta(key_of(v)).empty()) {
    throw Error(ErrorCode::kAlreadyExists,
                "version " + std::to_string(v) + " was published meanwhile");
  }
  txn->set_meta(key_of(v), document.dump());
  txn->commit();
  return Json{{"version", v},
              {"active_version", active_version},
              {"active", false},
              {"message", "version " + std::to_string(v) +
                              " is published; lumbung-server makes it active (and migrates the "
                              "records) at its next start"}};
}

LiveSchema::LiveSchema(ServerStore& store, std::unique_ptr<SchemaHistory> start)
    : store_(store), devices_(device_versions(store)) {
  served_.push_back(std::move(start));
}

std::map<std::string, int> device_versions(ServerStore& store) {
  std::map<std::string, int> out;
  const Json j = Json::parse(store.read_meta("schema.devices"), nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& [device, v] : j.items()) {
    if (v.is_number_integer()) out[device] = v.get<int>();
  }
  return out;
}

Json devices_on_older_versions(ServerStore& store, int active) {
  Json out = Json::array();
  for (const auto& [device, v] : device_versions(store)) {
    if (v < active) out.push_back(Json{{"device_id", device}, {"schema_version", v}});
  }
  return out;
}

void LiveSchema::note_device_version(const std::string& device, int version) {
  std::lock_guard<std::mutex> lock(devices_mu_);
  if (auto it = devices_.find(device); it != devices_.end() && it->second >= version) return;
  // Rare (once per device and version): read, change and write the one meta value.
  auto txn = store_.begin_write();
  Json j = Json::parse(txn->meta("schema.devices"), nullptr, false);
  if (!j.is_object()) j = Json::object();
  if (j.value(device, 0) < version) j[device] = version;
  txn->set_meta("schema.devices", j.dump());
  txn->commit();
  devices_[device] = j[device].get<int>();
}

LiveSchema::Share LiveSchema::enter() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !switching_; });
  ++running_;
  return Share(this);
}

void LiveSchema::leave() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--running_ == 0) cv_.notify_all();
}

const SchemaHistory& LiveSchema::history() const {
  std::lock_guard<std::mutex> lock(mu_);
  return *served_.back();
}

void LiveSchema::on_publish(std::function<void(const SchemaHistory&)> before_move,
                            std::function<void(const SchemaHistory&)> after_move) {
  std::lock_guard<std::mutex> lock(mu_);
  hooks_.emplace_back(std::move(before_move), std::move(after_move));
}

Json LiveSchema::publish(const Json& document) {
  std::lock_guard<std::mutex> one(publish_mu_);
  // Checked while requests still run: a refused document never holds them back.
  std::vector<Json> docs = stored_documents(store_);
  if (docs.empty()) throw Error(ErrorCode::kSchemaInvalid, "this server has no schema yet");
  check_successor(docs.back(), document);
  docs.push_back(document);
  auto next = std::make_unique<SchemaHistory>(std::move(docs));
  const int v = next->current_version();
  const int was = history().current_version();

  size_t moved = 0;
  switch_to(std::move(next), [&](const SchemaHistory& h) {
    auto txn = store_.begin_write();
    // Alone: writes of other server processes on the database finish first, later ones wait
    // and then find the new version (OpWriter::check_schema).
    txn->pin_schema_version(/*publishing=*/true);
    txn->pinned_schema = -1;
    // Re-read under the write lock: two publications of the same version, one wins.
    if (!txn->meta(key_of(v)).empty()) {
      throw Error(ErrorCode::kAlreadyExists,
                  "version " + std::to_string(v) + " was published meanwhile");
    }
    txn->set_meta(key_of(v), document.dump());
    moved = migrate_in(store_, txn.get(), h, std::stoi(txn->meta("schema.active")));
    txn->commit();
  });
  return Json{{"version", v},
              {"active_version", v},
              {"active", true},
              {"records_moved", moved},
              {"message", "version " + std::to_string(v) + " is published and active (was " +
                              std::to_string(was) + "); " + std::to_string(moved) +
                              " records moved to its field names"}};
}

void LiveSchema::switch_to(std::unique_ptr<SchemaHistory> next,
                           const std::function<void(const SchemaHistory&)>& move) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    switching_ = true;
    cv_.wait(lock, [this] { return running_ == 0; });
  }
  struct Reopen {  // lets requests in again however the switch ends
    LiveSchema* l;
    ~Reopen() {
      std::lock_guard<std::mutex> lock(l->mu_);
      l->switching_ = false;
      l->cv_.notify_all();
    }
  } reopen{this};
  // Adds personal fields only (never removes one), so it is harmless if the move fails.
  for (auto& h : hooks_) {
    if (h.first) h.first(*next);
  }
  if (move) move(*next);
  {
    std::lock_guard<std::mutex> lock(mu_);
    served_.push_back(std::move(next));
  }
  for (auto& h : hooks_) {
    if (h.second) h.second(*served_.back());
  }
}

bool LiveSchema::catch_up(bool wait) {
  std::unique_lock<std::mutex> one(publish_mu_, std::defer_lock);
  if (wait) {
    one.lock();
  } else if (!one.try_lock()) {
    return false;  // this process is publishing: it switches itself
  }
  const std::string text = store_.read_meta("schema.active");
  if (text.empty()) return false;
  const int active = std::stoi(text);
  if (active <= history().current_version()) return false;
  std::vector<Json> docs = stored_documents(store_);
  while (!docs.empty() && docs.back().value("version", 0) > active) docs.pop_back();
  auto next = std::make_unique<SchemaHistory>(std::move(docs));
  if (next->current_version() != active) {
    throw Error(ErrorCode::kCorrupt, "schema version " + std::to_string(active) +
                                         " is active but its document is not stored");
  }
  switch_to(std::move(next), nullptr);  // the publishing server moved the records
  return true;
}

void LiveSchema::catch_up_if_due() {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t last = last_check_ms_.load();
  if (now - last < kCatchUpEveryMs || !last_check_ms_.compare_exchange_strong(last, now)) return;
  catch_up(/*wait=*/false);
}

std::optional<Refusal> upgrade_pushed_op(const SchemaHistory& h, Op& op) {
  if (op.schema_version == h.current_version()) return std::nullopt;
  if (op.schema_version > h.current_version()) {
    // Kept in the refused queue, not lost: a server restored from an older copy may meet
    // a laptop that already learnt a newer version.
    return Refusal{ErrorCode::kValidationFailed, "",
                   "op seq " + std::to_string(op.seq) + " was written under schema version " +
                       std::to_string(op.schema_version) + ", newer than this server's " +
                       std::to_string(h.current_version()),
                   "unknown_schema_version"};
  }
  h.upgrade_op(op);
  return std::nullopt;
}

std::string upgrade_log_text(const SchemaHistory& h, const std::string& op_text) {
  const int cur = h.current_version();
  if (cur == 1) return op_text;
  Json j = Json::parse(op_text);
  const int from = j.value("sv", 1);
  if (from >= cur) return op_text;
  const std::string col = j.value("col", "");
  Json retired = j.value("ret", Json::object());
  // Renames `obj`'s keys; a retired key's value goes to `gone` when given, else is dropped.
  auto rename = [&](Json& obj, Json* gone) {
    if (!obj.is_object()) return;
    Json out = Json::object();
    for (auto& [k, v] : obj.items()) {
      const std::string n = k == "*" ? k : h.current_name(col, k, from);
      if (!n.empty()) {
        out[n] = std::move(v);
      } else if (gone) {
        (*gone)[k] = std::move(v);
      }
    }
    obj = std::move(out);
  };
  if (auto s = j.find("set"); s != j.end()) rename(*s, &retired);
  if (auto b = j.find("base"); b != j.end()) rename(*b, nullptr);
  if (auto r = j.find("rec"); r != j.end() && r->is_object()) {
    if (auto f = r->find("fields"); f != r->end()) rename(*f, nullptr);
    if (auto v = r->find("versions"); v != r->end()) rename(*v, nullptr);
  }
  if (!retired.empty()) j["ret"] = std::move(retired);
  j["sv"] = cur;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void explain_newer_rule(const SchemaHistory& h, const std::string& collection,
                        const Json& original_set, bool partial, int written_version, Refusal& why) {
  const auto old = h.schema_at(written_version);
  const CollectionSchema* cs = old ? old->collection(collection) : nullptr;
  if (!cs) return;
  Json set = original_set;
  if (!cs->normalize_and_validate(set, partial).empty()) return;  // wrong under its own rules too
  // The step that made the field stricter, so the reviewer sees which publication refused.
  std::string step;
  for (const auto& [v, steps] : parse_changelog(h.current_document())) {
    if (v <= written_version) continue;
    for (const SchemaStep& s : steps) {
      if (s.collection != collection || (s.field != why.field && s.to != why.field)) continue;
      if (s.kind == SchemaStep::Kind::kTighten) {
        step = "tighten_rule " + collection + "." + why.field + " in version " + std::to_string(v);
      } else if (s.kind == SchemaStep::Kind::kAddField) {
        step = "add_field " + collection + "." + why.field + " in version " + std::to_string(v);
      }
    }
  }
  why.rule = "newer_schema_rule";
  why.message = "newer_schema_rule: written under schema version " +
                std::to_string(written_version) + " and valid then; version " +
                std::to_string(h.current_version()) + " refuses it" +
                (step.empty() ? std::string() : " (" + step + ")") + ": " + why.message;
}

}  // namespace lumbung::server
