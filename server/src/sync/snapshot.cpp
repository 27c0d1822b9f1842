// A new device's bootstrap from a snapshot of its regions' current records instead of a
// replay of the whole history (issue 13). `GET /v1/pull?snapshot=1` without a cursor starts
// one; every answer has the shape of a pull answer (docs/PROTOCOL.md "Bootstrap from a
// snapshot"):
//   - "ops": one "rec" op per record of the device's regions (deleted ones with their
//     tombstone), the form region-move notices already have: devices apply it as a join
//     of every field register and the tombstone (engine/src/changeset/changeset.cpp);
//   - "next": base64url("s2:<epoch>:<horizon>:<k>:<n>:<scope><id>") while records remain
//     (k: the (collection, region prefix) pair being sent; the last record sent of it, by
//     its scope - n bytes - and id), then a log cursor at the horizon (encode_cursor), with
//     "more": true, so the device goes on pulling the log from there with nothing else to
//     know. An "s1:" cursor (after <id>: pages by id, before the region index) restarts its
//     pair from the beginning: some records come twice, which the join absorbs.
// Records are read by (collection, scope, id) through the region index (ServerStore::
// snapshot_records), so a page costs what it sends, not the collection.
// The horizon is ServerStore::log_horizon(), taken before the first page is read: every op
// at or below it is in the records any later page reads, every op above it comes from the
// log afterwards (some twice, when a page was read after it): "never skips, may repeat",
// which apply absorbs. A snapshot cursor of another history (the server's database was
// replaced or restored) starts the snapshot again.
#include <algorithm>
#include <map>
#include <optional>

#include "common/encoding.h"
#include "lumbung/changeset.h"
#include "lumbung/tuning.h"
#include "store/record_codec.h"
#include "sync/sync_service.h"

namespace lumbung::server {
namespace {

constexpr const char* kSnapshotTag = "s2:";
constexpr const char* kOldSnapshotTag = "s1:";  // paged by id (before the region index)
constexpr size_t kMaxSnapshotCursor = 600;      // base64url text: scope and id, ~440 bytes

struct SnapshotCursor {
  std::string epoch;
  uint64_t horizon = 0;
  size_t part = 0;
  std::string after_scope;  // the last record sent of the part: (scope, id)
  std::string after_id;
};

std::string encode_snapshot(const SnapshotCursor& c) {
  return base64url_encode(kSnapshotTag + c.epoch + ":" + std::to_string(c.horizon) + ":" +
                          std::to_string(c.part) + ":" + std::to_string(c.after_scope.size()) +
                          ":" + c.after_scope + c.after_id);
}

uint64_t digits(std::string_view s) {
  if (s.empty() || s.size() > 19) throw Error(ErrorCode::kInvalidArgument, "malformed cursor");
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') throw Error(ErrorCode::kInvalidArgument, "malformed cursor");
    v = v * 10 + static_cast<uint64_t>(ch - '0');
  }
  return v;
}

SnapshotCursor decode_snapshot(const std::string& text) {
  const auto raw = base64url_decode(text);
  SnapshotCursor c;
  const size_t a = raw->find(':', 3);
  const size_t b = a == std::string::npos ? a : raw->find(':', a + 1);
  const size_t d = b == std::string::npos ? b : raw->find(':', b + 1);
  if (d == std::string::npos) throw Error(ErrorCode::kInvalidArgument, "malformed cursor");
  c.epoch = raw->substr(3, a - 3);
  c.horizon = digits(std::string_view(*raw).substr(a + 1, b - a - 1));
  c.part = static_cast<size_t>(digits(std::string_view(*raw).substr(b + 1, d - b - 1)));
  if (raw->compare(0, 3, kOldSnapshotTag) == 0) return c;  // its part again from the start
  const size_t e = raw->find(':', d + 1);
  if (e == std::string::npos) throw Error(ErrorCode::kInvalidArgument, "malformed cursor");
  const uint64_t n = digits(std::string_view(*raw).substr(d + 1, e - d - 1));
  if (n > raw->size() - e - 1) throw Error(ErrorCode::kInvalidArgument, "malformed cursor");
  c.after_scope = raw->substr(e + 1, n);
  c.after_id = raw->substr(e + 1 + n);
  return c;
}

// The (collection, region prefix) pairs a device's snapshot walks, in one fixed order.
std::vector<std::pair<std::string, std::string>> parts_of(const Schema& schema,
                                                          const std::vector<std::string>& scope) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& cs : schema.collections()) {
    if (cs.scope_field().empty()) {
      out.emplace_back(cs.name(), "");
      continue;
    }
    for (const auto& p : scope) out.emplace_back(cs.name(), p);
  }
  return out;
}

// The record as a server "rec" op (the region-move notice's form: OpWriter::log_move).
// `compact`: the version most fields share is given once, as "*", and only the others by
// field (a record written by one create and a few edits needs two or three versions, not
// one per field: docs/PROTOCOL.md "Bootstrap from a snapshot").
std::string rec_op(const RecordRow& r, bool compact) {
  Json fields = Json::object(), versions = Json::object();
  uint64_t hlc = 1;
  std::optional<Version> shared;
  if (compact) {
    std::map<Version, size_t> uses;
    for (const auto& [name, fv] : r.state.fields) ++uses[fv.version];
    size_t most = 1;  // a version one field alone has is given by that field
    for (const auto& [v, n] : uses) {
      if (n > most) {
        most = n;
        shared = v;
      }
    }
    if (shared) versions["*"] = encode_version(*shared);
  }
  for (const auto& [name, fv] : r.state.fields) {
    fields[name] = fv.value;
    if (!shared || fv.version != *shared) versions[name] = encode_version(fv.version);
    hlc = std::max(hlc, fv.version.hlc);
  }
  Json tombstone;
  if (!r.state.tombstone.empty()) {
    tombstone = encode_version(r.state.tombstone);
    hlc = std::max(hlc, r.state.tombstone.hlc);
  }
  return Json{{"seq", 1},
              {"col", r.collection},
              {"id", r.id},
              {"hlc", hlc},
              {"dev", kServerDevice},
              {"rec",
               {{"fields", std::move(fields)},
                {"versions", std::move(versions)},
                {"tombstone", std::move(tombstone)}}}}
      .dump();
}

// The compact "rec" op straight from the stored text (record_codec.h): the doc goes out as
// stored - the server wrote it with encode_doc, and the store joined any sealed fields back
// in as text - and only the versions are decoded (for the op's hlc; a few entries), their
// shared "" becoming the op's "*". The same record as rec_op(.., true) gives, in other words:
// "*" may name a version only one field has, which the device reads the same way.
std::string rec_op_stored(const std::string& col, const StoredRecord& r) {
  if (r.doc.size() < 2 || r.doc.front() != '{' || r.doc.back() != '}') {
    throw Error(ErrorCode::kCorrupt, "record " + std::string(r.id) + ": doc is not an object");
  }
  Json ver = Json::parse(r.ver, nullptr, false);
  if (!ver.is_object()) {
    throw Error(ErrorCode::kCorrupt, "record " + std::string(r.id) + ": versions are not JSON");
  }
  uint64_t hlc = 1;
  for (const auto& [_, v] : ver.items()) hlc = std::max(hlc, decode_version(v).hlc);
  if (auto shared = ver.find(""); shared != ver.end()) {
    Json v = std::move(*shared);
    ver.erase(shared);
    ver["*"] = std::move(v);
  }
  std::string tombstone = "null";
  if (r.del_hlc > 0) {
    tombstone =
        encode_version(Version{static_cast<uint64_t>(r.del_hlc), std::string(r.del_dev)}).dump();
    hlc = std::max(hlc, static_cast<uint64_t>(r.del_hlc));
  }
  std::string out = "{\"seq\":1,\"col\":" + codec::json_quote(col) +
                    ",\"id\":" + codec::json_quote(std::string(r.id)) +
                    ",\"hlc\":" + std::to_string(hlc) +
                    ",\"dev\":" + codec::json_quote(kServerDevice) + ",\"rec\":{\"fields\":";
  out += r.doc;
  out += ",\"versions\":" + ver.dump() + ",\"tombstone\":" + tombstone + "}}";
  return out;
}

// The record as rec_op gives it, from the stored text (snapshot=1: every field's version).
std::string rec_op_decoded(const std::string& col, const StoredRecord& r) {
  RecordRow row;
  row.collection = col;
  row.id = std::string(r.id);
  row.state = codec::decode_state(r.doc, r.ver, r.del_hlc, r.del_dev);
  return rec_op(row, false);
}

// The notice that a record left the device's regions (OpWriter::log_move's "gone").
std::string gone_op(const std::string& col, const std::string& id) {
  return "{\"seq\":1,\"col\":" + codec::json_quote(col) + ",\"id\":" + codec::json_quote(id) +
         ",\"hlc\":1,\"dev\":" + codec::json_quote(kServerDevice) + ",\"gone\":true}";
}

}  // namespace

bool is_snapshot_cursor(const std::string& text) {
  if (text.empty() || text.size() > kMaxSnapshotCursor) return false;
  const auto raw = base64url_decode(text);
  return raw && (raw->compare(0, 3, kSnapshotTag) == 0 || raw->compare(0, 3, kOldSnapshotTag) == 0);
}

bool SyncService::snapshot_pays(const Principal& device) {
  uint64_t records = 0;
  auto add = [&](std::string_view, std::string_view dim, std::string_view, int64_t n) {
    if (dim == "status" && n > 0) records += static_cast<uint64_t>(n);  // each record once
  };
  for (const CollectionSchema& cs : schema().collections()) {
    if (cs.scope_field().empty()) {
      store_.for_each_count(cs.name(), "", add);  // sent to every device
      continue;
    }
    for (const std::string& prefix : device.scope) store_.for_each_count(cs.name(), prefix, add);
  }
  return store_.log_length() > kSnapshotLogPerRecord * records;
}

std::string SyncService::pull_snapshot(const Principal& device, const std::string& text,
                                       size_t limit, size_t max_bytes, bool compact) {
  SnapshotCursor c;
  if (!text.empty()) c = decode_snapshot(text);
  // A snapshot begun in another history (the server was restored from a copy since): what
  // the device took from it may hold writes this history lacks, so it starts again as a
  // replay ("reset": the device drops what others wrote and takes the records anew).
  const bool reset = !text.empty() && c.epoch != epoch();
  if (text.empty() || reset) c = SnapshotCursor{epoch(), store_.log_horizon(), 0, "", ""};
  if (limit == 0 || limit > kPullPageOps) limit = kPullPageOps;
  // As a log page: the ops' text within max_bytes (at least one op), see pull().
  if (max_bytes > 0) max_bytes = std::clamp(max_bytes, kPullMinPageBytes, kPullMaxPageBytes);
  const auto parts = parts_of(schema(), device.scope);
  std::string ops;
  size_t sent = 0;
  bool full = false;
  while (c.part < parts.size() && sent < limit && !full) {
    const size_t want = limit - sent;
    const std::string& col = parts[c.part].first;
    size_t read = 0;
    store_.snapshot_records(
        col, parts[c.part].second, c.after_scope, c.after_id, want, [&](const StoredRecord& r) {
          ++read;
          std::string op = compact ? rec_op_stored(col, r) : rec_op_decoded(col, r);
          if (sent > 0 && max_bytes > 0 && ops.size() + 1 + op.size() > max_bytes) {
            full = true;
            return false;
          }
          if (sent++) ops += ',';
          ops += op;
          c.after_scope = std::string(r.scope);
          c.after_id = std::string(r.id);
          return true;
        });
    if (!full && read < want) {
      ++c.part;
      c.after_scope.clear();
      c.after_id.clear();
    }
  }
  // Then the records this device wrote that left its regions before the horizon: their
  // "gone" notices sit below it in the log and are never sent, and the device may hold
  // them from its own writes (tests/sim seed 6940). A part after the last: (col, id) as
  // the cursor's (scope, id).
  const bool everywhere = std::any_of(device.scope.begin(), device.scope.end(),
                                      [](const auto& p) { return p.empty(); });
  if (c.part == parts.size() && (everywhere || device.scope.empty())) ++c.part;
  while (c.part == parts.size() && sent < limit && !full) {
    const size_t want = limit - sent;
    size_t read = 0;
    store_.written_outside(
        device.device_id, device.scope, c.after_scope, c.after_id, want,
        [&](const std::string& col, const std::string& id) {
          ++read;
          std::string op = gone_op(col, id);
          if (sent > 0 && max_bytes > 0 && ops.size() + 1 + op.size() > max_bytes) {
            full = true;
            return false;
          }
          if (sent++) ops += ',';
          ops += op;
          c.after_scope = col;
          c.after_id = id;
          return true;
        });
    if (!full && read < want) ++c.part;
  }
  const bool done = c.part > parts.size();
  const int64_t now = wall_.now_ms();
  std::string out = "{\"ops\":[" + ops + "],\"next\":\"";
  out += done ? encode_cursor(epoch_of(c.horizon), c.horizon) : encode_snapshot(c);
  out += "\",\"more\":true,\"snapshot\":true";
  if (reset) out += ",\"reset\":true";
  out += ",\"epoch\":\"" + epoch() + "\"";
  out += ",\"acked_seq\":" + std::to_string(store_.device_acked_seq(device.device_id));
  out += ",\"regions\":" + Json(device.scope).dump();
  out += ",\"schema_version\":" + std::to_string(schema().version());
  out += ",\"server_time_ms\":" + std::to_string(now) + "}";
  metrics_.add_ops_pulled(sent);
  note_seen(device.device_id, now);
  return out;
}

}  // namespace lumbung::server
