#include "attach/attachment_service.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "attach/attachment_files.h"
#include "common/encoding.h"
#include "crypto/crypto.h"
#include "lumbung/error.h"
#include "review/reader_scope.h"
#include "sync/op_writer.h"

namespace lumbung::server {
namespace {

std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

Json status_json(const std::string& sha, const AttachmentEntry& e) {
  return Json{{"sha256", sha},
              {"size", e.size},
              {"mime", e.mime},
              {"received", e.received},
              {"complete", e.complete}};
}

// A chunk's answer: only where to go on (every byte of it crosses a 2G link per chunk).
Json chunk_answer(const AttachmentEntry& e) {
  return Json{{"received", e.received}, {"complete", e.complete}};
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::map<std::string, std::string> query_map(const std::string& q) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < q.size() && out.size() < 16) {
    size_t amp = q.find('&', i);
    if (amp == std::string::npos) amp = q.size();
    const std::string kv = q.substr(i, amp - i);
    const size_t eq = kv.find('=');
    std::string v = eq == std::string::npos ? "" : kv.substr(eq + 1), dec;
    for (size_t k = 0; k < v.size(); ++k) {
      if (v[k] == '%' && k + 2 < v.size() + 0 && hexval(v[k + 1]) >= 0 && hexval(v[k + 2]) >= 0) {
        dec.push_back(static_cast<char>(hexval(v[k + 1]) * 16 + hexval(v[k + 2])));
        k += 2;
      } else {
        dec.push_back(v[k]);
      }
    }
    out[kv.substr(0, eq)] = dec;
    i = amp + 1;
  }
  return out;
}

uint64_t number(const std::map<std::string, std::string>& q, const char* name, bool required,
                uint64_t def = 0) {
  auto it = q.find(name);
  if (it == q.end() || it->second.empty()) {
    if (required) throw Error(ErrorCode::kInvalidArgument, std::string(name) + " is required");
    return def;
  }
  if (it->second.size() > 15)
    throw Error(ErrorCode::kInvalidArgument, std::string(name) + " is too large");
  uint64_t n = 0;
  for (char c : it->second) {
    if (c < '0' || c > '9') {
      throw Error(ErrorCode::kInvalidArgument, std::string(name) + " must be a whole number");
    }
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

std::string mib(uint64_t bytes) {
  char out[32];
  std::snprintf(out, sizeof out, "%.2f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return out;
}

Response json_response(const Json& j) {
  Response r;
  r.body = j.dump();
  return r;
}

}  // namespace

std::string AttachmentService::sealing_key(const std::string& data_key) {
  // A key of its own, derived from the data key: never the same key as the record seals.
  return data_key.empty() ? std::string() : crypto::hmac_sha256(data_key, "lumbung attachments v1");
}

AttachmentService::AttachmentService(const Schema& schema, ServerStore& store, WallClock& wall,
                                     std::string dir, std::string key, AttachmentLimits limits)
    : AttachmentService(schema, store, wall,
                        std::make_unique<AttachmentFiles>(std::move(dir), sealing_key(key)),
                        limits) {}

AttachmentService::AttachmentService(const Schema& schema, ServerStore& store, WallClock& wall,
                                     std::unique_ptr<AttachmentBytes> bytes,
                                     AttachmentLimits limits)
    : store_(store), wall_(wall), files_(std::move(bytes)), limits_(limits) {
  set_schema(schema);
}

void AttachmentService::set_schema(const Schema& schema) {
  int64_t max_size = 0;
  std::set<std::string> mimes;
  for (const auto& c : schema.collections()) {
    for (const auto& f : c.fields()) {
      if (f.type != FieldType::kAttachment) continue;
      max_size = std::max<int64_t>(max_size, f.max_size.value_or(0));
      mimes.insert(f.mime.begin(), f.mime.end());
    }
  }
  std::lock_guard<std::mutex> lock(schema_mu_);
  schema_ = &schema;
  max_size_ = max_size;
  mimes_ = std::move(mimes);
}

const Schema& AttachmentService::schema() const {
  std::lock_guard<std::mutex> lock(schema_mu_);
  return *schema_;
}

AttachmentService::~AttachmentService() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (collector_.joinable()) collector_.join();
}

Json AttachmentService::status(const Principal& who, const std::string& sha) {
  const char* const kNone = "the server has no part of this attachment";
  auto e = files_->find(sha);
  if (!e) throw Error(ErrorCode::kNotFound, kNone);
  // The same answer as for a hash the server never saw, to a caller with no right to the
  // file: the status is no oracle of which files exist (the content route's rule).
  const bool right = who.role == Role::kAdmin ||
                     (who.role == Role::kDevice && e->device == who.device_id) ||
                     reader_names(who, sha, e->size);
  if (!right) throw Error(ErrorCode::kNotFound, kNone);
  // A device asks before it sends: "complete" means it will not send the file, so the
  // collector must not take it from under the record that device just pushed.
  e = files_->claim(sha, wall_.now_ms());
  if (!e) throw Error(ErrorCode::kNotFound, kNone);
  return status_json(sha, *e);
}

bool AttachmentService::reader_names(const Principal& who, const std::string& sha, uint64_t size) {
  // The reader's regions as list prefixes ("" = every region: a national reviewer).
  std::vector<std::string> prefixes = who.role == Role::kDevice ? who.scope : reader_regions(who);
  if (prefixes.empty() && who.role == Role::kDevice) return false;
  if (prefixes.empty()) prefixes.push_back("");
  for (const auto& c : schema().collections()) {
    std::vector<std::string> fields;
    for (const auto& f : c.fields()) {
      if (f.type == FieldType::kAttachment) fields.push_back(f.name);
    }
    if (fields.empty()) continue;
    // A collection without regions is every reader's (as content() reads it).
    const std::vector<std::string> within =
        c.scope_field().empty() ? std::vector<std::string>{""} : prefixes;
    for (const auto& prefix : within) {
      std::string after;
      // Bounded: each page moves `after` forward; a page shorter than asked ends it.
      for (int page = 0; page < 1000000; ++page) {
        auto rows = store_.list_records(c.name(), prefix, after, 500);
        for (const auto& row : rows) {
          if (!row.state.live()) continue;
          const Json v = row.state.values();
          for (const auto& f : fields) {
            auto it = v.find(f);
            if (it == v.end() || !it->is_object()) continue;
            const auto hash = it->find("sha256"), sz = it->find("size");
            if (hash != it->end() && *hash == sha && sz != it->end() && sz->is_number_integer() &&
                sz->get<int64_t>() == static_cast<int64_t>(size)) {
              return true;
            }
          }
        }
        if (rows.size() < 500) break;
        after = rows.back().id;
      }
    }
  }
  return false;
}

Json AttachmentService::put_chunk(const Principal& who, const std::string& sha, uint64_t offset,
                                  uint64_t size, const std::string& mime, const std::string& chunk,
                                  const std::string& chunk_sha) {
  if (!is_sha256_hex(sha))
    throw Error(ErrorCode::kInvalidArgument, "an attachment is named by 64 hex digits");
  // The checksum first: a chunk damaged on the way says nothing reliable.
  if (chunk.empty() || sha256_hex(chunk) != chunk_sha) {
    throw Error(ErrorCode::kValidationFailed,
                "the chunk does not match its X-Lumbung-Chunk-Sha256; send it again", "chunk");
  }
  // The file's lock until the answer: its chunks, from every thread and (PostgreSQL) every
  // server process, are taken one at a time.
  auto up = files_->upload(sha);
  auto e = up->entry();
  if (e && (e->complete || e->size != size)) {
    if (e->complete) {  // deduplicated: nothing more to send
      auto claimed = up->claim(wall_.now_ms());
      up->commit();
      return chunk_answer(*claimed);
    }
    if (e->received > 0) {
      throw Error(ErrorCode::kValidationFailed,
                  "this attachment is being uploaded with size " + std::to_string(e->size), "size");
    }
  }
  if (!e || e->size != size) {
    int64_t max_size = 0;  // the active version's, read once (set_schema)
    std::set<std::string> mimes;
    {
      std::lock_guard<std::mutex> lock(schema_mu_);
      max_size = max_size_;
      mimes = mimes_;
    }
    if (max_size <= 0) throw Error(ErrorCode::kNotFound, "this schema has no attachment fields");
    if (size == 0 || size > static_cast<uint64_t>(max_size)) {
      throw Error(ErrorCode::kBodyTooLarge,
                  "an attachment may have at most " + std::to_string(max_size) + " bytes");
    }
    if (!mimes.count(mime)) {
      std::string list;
      for (const auto& m : mimes) list += (list.empty() ? "" : ", ") + m;
      throw Error(ErrorCode::kValidationFailed, "file type not allowed (allowed: " + list + ")",
                  "mime");
    }
    uint64_t used = up->device_bytes(who.device_id);
    // The announcement being replaced (same hash, another size, nothing received) is not
    // counted twice.
    if (e && e->device == who.device_id) used -= e->size;
    if (used + size > limits_.device_quota_bytes) {
      // Refused before anything is written: no entry, no bytes (nothing to collect later).
      throw Error(ErrorCode::kQuotaExceeded,
                  "the server's space for this device's attachments is full: it holds " +
                      mib(used) + " of its quota of " + mib(limits_.device_quota_bytes) +
                      " and this file needs " + mib(size) +
                      "; the records are on the server, the file waits on the laptop until "
                      "the office raises the quota (lumbung-server --attachment-quota-mb)",
                  "quota");
    }
    AttachmentEntry fresh;
    fresh.size = size;
    fresh.mime = mime;
    fresh.device = who.device_id;
    fresh.started_ms = wall_.now_ms();
    fresh.touched_ms = fresh.started_ms;
    up->begin(fresh);
    e = up->entry();
  }
  // Only at the offset the server holds: a chunk sent again (its answer was lost) or out
  // of order is not kept twice; the answer says where to go on.
  if (offset != e->received) {
    up->commit();  // the start of an upload, if this chunk made one
    return chunk_answer(*e);
  }
  if (offset + chunk.size() > e->size) {
    throw Error(ErrorCode::kValidationFailed, "the chunk goes past the attachment's size", "chunk");
  }
  const uint64_t now = up->append(chunk, wall_.now_ms());
  if (now == e->size && !up->finish()) {
    up->commit();  // the dropping of the bytes
    // 422, not a 5xx a client would retry chunk by chunk: the upload starts again from 0.
    throw Error(ErrorCode::kValidationFailed,
                "the whole attachment does not match its sha256; it was dropped: send it again",
                "sha256");
  }
  auto after = up->entry();
  up->commit();
  return chunk_answer(*after);
}

Response AttachmentService::content(const Principal& who, const std::string& sha,
                                    const std::string& collection, const std::string& record,
                                    uint64_t offset, uint64_t limit) const {
  const CollectionSchema* cs = schema().collection(collection);
  if (!cs) throw Error(ErrorCode::kUnknownCollection, "no collection " + collection);
  auto st = const_cast<ServerStore&>(store_).get_record(collection, record);
  if (!st || !st->live()) throw Error(ErrorCode::kNotFound, "no such record");
  const Json values = st->values();
  if (!cs->scope_field().empty()) {
    const auto it = values.find(cs->scope_field());
    const std::string scope = it != values.end() && it->is_string() ? it->get<std::string>() : "";
    const bool sees =
        who.role == Role::kDevice ? in_scope(scope, who.scope) : reader_sees(who, scope);
    if (!sees) throw Error(ErrorCode::kOutOfScope, "this record is outside your regions");
  }
  auto e = files_->find(sha);
  // The record names this file: its hash and its size (a reference with another size is not
  // this file: its reader would take the bytes and find them wrong only at the end).
  bool refers = false;
  for (const auto& f : cs->fields()) {
    if (f.type != FieldType::kAttachment || !e) continue;
    auto it = values.find(f.name);
    if (it == values.end() || !it->is_object()) continue;
    const auto hash = it->find("sha256"), size = it->find("size");
    refers = refers ||
             (hash != it->end() && *hash == sha && size != it->end() && size->is_number_integer() &&
              size->get<int64_t>() == static_cast<int64_t>(e->size));
  }
  if (!refers || !e || !e->complete) {
    throw Error(ErrorCode::kNotFound, "this record has no such attachment on the server yet");
  }
  if (offset >= e->size) throw Error(ErrorCode::kInvalidArgument, "offset is past the end");
  Response r;
  r.content_type = e->mime;
  r.body = files_->read(sha, offset, limit == 0 ? e->size : limit);
  r.headers["X-Lumbung-Size"] = std::to_string(e->size);
  r.headers["Cache-Control"] = "private, no-store";  // personal data: no copies in caches
  return r;
}

std::set<std::string> AttachmentService::referenced() {
  std::set<std::string> out;
  for (const auto& c : schema().collections()) {
    std::vector<std::string> fields;
    for (const auto& f : c.fields()) {
      if (f.type == FieldType::kAttachment) fields.push_back(f.name);
    }
    if (fields.empty()) continue;
    std::string after;
    // Bounded: each page moves `after` forward; a page shorter than asked ends it.
    for (int page = 0; page < 1000000; ++page) {
      auto rows = store_.list_records(c.name(), "", after, 500);
      for (const auto& row : rows) {
        if (!row.state.live()) continue;
        const Json v = row.state.values();
        for (const auto& f : fields) {
          auto it = v.find(f);
          if (it != v.end() && it->is_object()) out.insert(it->value("sha256", std::string()));
        }
      }
      if (rows.size() < 500) break;
      after = rows.back().id;
    }
  }
  return out;
}

Json AttachmentService::collect_garbage() {
  // The scan of the records takes a while (seconds on a large database). A device that
  // pushed a record naming an old orphan and was then told the file is complete (a claim,
  // after this instant) may not be in the scan: such a file stays until the next pass.
  const int64_t scan_started = wall_.now_ms();
  const std::set<std::string> refs = referenced();
  if (limits_.scan_pause_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(limits_.scan_pause_ms));
  }
  const int64_t now = wall_.now_ms() + limits_.age_offset_ms;
  uint64_t kept = 0, removed = 0, removed_bytes = 0;
  files_->for_each([&](const std::string& sha, const AttachmentEntry&) {
    uint64_t bytes = 0;
    // Judged on the entry as it is at the removal (a claim may have come since the copy).
    const bool gone = files_->remove_if(sha, [&](const AttachmentEntry& e) {
      const bool drop = e.complete ? !refs.count(sha) && e.touched_ms < scan_started &&
                                         now - e.started_ms >= limits_.orphan_grace_ms
                                   : now - e.touched_ms >= limits_.stale_upload_ms;
      bytes = e.received;
      return drop;
    });
    if (!gone) {
      ++kept;
      return;
    }
    ++removed;
    removed_bytes += bytes;
  });
  const uint64_t strays = files_->remove_strays(now - limits_.stale_upload_ms);
  return Json{{"kept", kept},
              {"removed", removed},
              {"removed_bytes", removed_bytes},
              {"strays_removed", strays}};
}

void AttachmentService::start_collector(int64_t every_ms) {
  // The first pass runs at once, on this thread: it reads every record, which on a large
  // database took 17-30 s that the server used to spend before it listened.
  collector_ = std::thread([this, every_ms] {
    std::unique_lock<std::mutex> lock(stop_mu_);
    for (bool first = true;; first = false) {
      if (!first && stop_cv_.wait_for(lock, std::chrono::milliseconds(every_ms),
                                      [this] { return stopping_; }))
        break;
      if (stopping_) break;
      lock.unlock();
      try {
        collect_garbage();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "lumbung-server: attachment collection failed: %s\n", e.what());
      }
      lock.lock();
    }
  });
}

Response AttachmentService::handle(const Request& req, const std::string& route,
                                   const std::string& sha, const Principal& who) {
  const auto q = query_map(req.query);
  if (route == "gc") return json_response(collect_garbage());
  if (!is_sha256_hex(sha))
    throw Error(ErrorCode::kInvalidArgument, "an attachment is named by 64 lower-case hex digits");
  if (route == "status") return json_response(status(who, sha));
  if (route == "content") {
    auto col = q.find("collection"), rec = q.find("record");
    if (col == q.end() || rec == q.end()) {
      throw Error(ErrorCode::kInvalidArgument, "collection and record are required");
    }
    return content(who, sha, col->second, rec->second, number(q, "offset", false),
                   number(q, "limit", false));
  }
  auto mime = q.find("mime");
  return json_response(put_chunk(who, sha, number(q, "offset", true), number(q, "size", true),
                                 mime == q.end() ? "" : mime->second, req.body,
                                 req.header("x-lumbung-chunk-sha256").value_or("")));
}

}  // namespace lumbung::server
