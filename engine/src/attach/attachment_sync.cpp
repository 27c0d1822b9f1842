// Attachments over the link (docs/PROTOCOL.md "Attachments"): the upload after the
// records, and the fetch on demand.
//
// Upload of one attachment: GET its status (the server may have it whole already: another
// device sent the same file, or a previous run finished it without hearing the answer),
// then POST chunks from the offset the server holds. Each chunk carries its own SHA-256;
// the server appends it only at the offset it holds and answers the offset it holds now,
// so a chunk sent twice is not kept twice and a cut, Ctrl-C or kill costs at most the chunk
// that was on its way. Chunks are sized by the push TransferSizer (sync/transfer_sizer.h):
// small first, growing while they arrive whole, a third of what the link carried between
// cuts after a cut.
#include <chrono>

#include "attach/attachment_internal.h"
#include "sync/request_loop.h"
#include "sync/transfer_sizer.h"

namespace lumbung {
namespace {

using sync_detail::CallInfo;
using sync_detail::RequestLoop;
using sync_detail::TransferSizer;

// Request line, headers and the answer's head: ~450 bytes a chunk (measured on the relay).
constexpr size_t kChunkOverheadBytes = 450;
constexpr size_t kMinChunkBytes = 1024;
// A chunk refused for its checksum (damaged on the way) is sent again this many times.
constexpr int kChecksumRetries = 3;
constexpr int kMaxStalledAnswers = 8;

size_t chunk_bytes(const TransferSizer& sizer) {
  const size_t t = sizer.target();
  return t > kChunkOverheadBytes + kMinChunkBytes ? t - kChunkOverheadBytes : kMinChunkBytes;
}

std::string chunk_target(const AttachmentRef& ref, uint64_t offset) {
  std::string mime;
  for (char c : ref.mime) {  // MIME types are token chars and '/', '+', '.', '-'
    if (c == '/') {
      mime += "%2F";
    } else if (c == '+') {
      mime += "%2B";
    } else {
      mime += c;
    }
  }
  return "/v1/attachments/" + ref.sha256 + "?offset=" + std::to_string(offset) +
         "&size=" + std::to_string(ref.size) + "&mime=" + mime;
}

uint64_t received_of(const Json& j) {
  auto it = j.find("received");
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}
bool complete_of(const Json& j) {
  auto it = j.find("complete");
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// Errors that stop every attachment, not just this one.
bool stops_all(const Error& e) {
  return e.code() == ErrorCode::kUnauthorized || e.code() == ErrorCode::kCancelled ||
         e.code() == ErrorCode::kTransport;
}

struct Uploader {
  AttachmentStore& store;
  RequestLoop& loop;
  TransferSizer& sizer;
  const SyncOptions& options;
  AttachmentSyncReport& report;

  // Sends one attachment whole; throws what stops it.
  void send(const AttachmentInfo& info, const std::string& bytes, unsigned index, unsigned count) {
    const AttachmentRef& ref = info.ref;
    auto progress = [&](uint64_t sent) {
      if (options.on_attachment) {
        options.on_attachment(AttachmentProgress{ref.sha256, sent, static_cast<uint64_t>(ref.size),
                                                 index, count});
      }
    };
    Json status;
    Json problem;
    uint64_t offset = 0;
    try {
      status = Json::parse(loop.call_raw("GET", "/v1/attachments/" + ref.sha256, "",
                                         {{"Accept", "application/json"}}, &problem));
      offset = received_of(status);
      if (complete_of(status)) {
        store.set_sent(ref.sha256, static_cast<uint64_t>(ref.size), true);
        ++report.already;
        progress(static_cast<uint64_t>(ref.size));
        return;
      }
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kNotFound) throw;  // 404: the server has none of it yet
    }
    store.set_sent(ref.sha256, offset, false);
    progress(offset);
    int checksum_failures = 0;
    int stalled = 0;  // answers in a row that did not move the server's offset forward
    const uint64_t size = static_cast<uint64_t>(ref.size);
    while (offset < size) {
      const uint64_t at = offset;
      auto build = [&](HttpRequest& req, size_t n) {
        req.body = bytes.substr(at, n);
        for (auto& [k, v] : req.headers) {
          if (k == "X-Lumbung-Chunk-Sha256") v = attach_detail::sha256_hex(req.body);
        }
      };
      std::string first = bytes.substr(at, chunk_bytes(sizer));
      RequestLoop::Headers headers = {
          {"Accept", "application/json"},
          {"Content-Type", "application/octet-stream"},
          {"X-Lumbung-Chunk-Sha256", attach_detail::sha256_hex(first)}};
      const size_t sent_body = first.size();
      size_t body_now = sent_body;
      CallInfo ci;
      std::string answer;
      try {
        answer = loop.call_raw("POST", chunk_target(ref, at), std::move(first), headers, &problem,
                               &ci, [&](HttpRequest& req, uint64_t partial) {
                                 sizer.on_cut(static_cast<size_t>(partial));
                                 body_now = std::min(body_now, chunk_bytes(sizer));
                                 build(req, body_now);
                               });
      } catch (const Error& e) {
        const bool checksum = e.code() == ErrorCode::kValidationFailed &&
                              problem.value("field", std::string()) == "chunk";
        if (checksum && ++checksum_failures <= kChecksumRetries) continue;  // send it again
        throw;
      }
      sizer.on_whole(0, ci.wire_up, ci.wire_up, ci.transfer_ms, ci.wire_up + ci.wire_down);
      Json j = Json::parse(answer, nullptr, false);
      if (!j.is_object()) throw Error(ErrorCode::kProtocol, "attachment answer is not JSON");
      const uint64_t now = received_of(j);
      if (now > at) report.bytes += now - at;
      // Bounded: a server that keeps answering an offset at or behind this one (another
      // upload of the same file racing, or a server bug) ends this attachment's turn.
      stalled = now > at ? 0 : stalled + 1;
      if (stalled > kMaxStalledAnswers) {
        throw Error(ErrorCode::kProtocol, "the server does not take this attachment's chunks");
      }
      offset = now;
      store.set_sent(ref.sha256, offset, complete_of(j));
      progress(offset);
      if (complete_of(j)) return;
      if (offset >= size) throw Error(ErrorCode::kProtocol, "the server holds the whole file "
                                                            "but did not say it is complete");
    }
  }
};

}  // namespace

AttachmentSyncReport upload_attachments(AttachmentStore& attachments, Transport& transport,
                                        const std::string& token, const SyncOptions& options) {
  AttachmentSyncReport report;
  const std::vector<AttachmentInfo> todo = attachments.unsent();
  if (todo.empty()) return report;
  RequestLoop loop(transport, token, options, {});
  TransferSizer sizer(options.max_batch_bytes, options.first_batch_bytes);
  Uploader up{attachments, loop, sizer, options, report};
  unsigned index = 0;
  for (const AttachmentInfo& info : todo) {
    ++index;
    try {
      std::optional<std::string> bytes = attachments.read(info.ref.sha256);
      if (!bytes) continue;  // known by reference only: another laptop's file
      up.send(info, *bytes, index, static_cast<unsigned>(todo.size()));
      ++report.sent;
    } catch (const Error& e) {
      ++report.failed;
      report.errors.emplace_back(info.ref.sha256, e.what());
      if (e.code() == ErrorCode::kCorrupt) {
        attachments.set_sent(info.ref.sha256, 0, false);  // the server dropped what it had
      }
      // A link that gave up or a cancel stops the rest: they stay waiting, as is this one.
      if (stops_all(e)) {
        report.failed += todo.size() - index;
        report.bytes_up = loop.bytes_up();
        report.bytes_down = loop.bytes_down();
        report.requests = loop.requests();
        if (e.code() == ErrorCode::kCancelled) throw;
        break;
      }
      attachments.set_failed(info.ref.sha256, e.what());
    }
  }
  report.bytes_up = loop.bytes_up();
  report.bytes_down = loop.bytes_down();
  report.requests = loop.requests();
  return report;
}

std::string AttachmentStore::fetch(Transport& transport, const std::string& token,
                                   const std::string& collection, const std::string& record_id,
                                   const std::string& field, const SyncOptions& options) {
  auto rec = impl_->store.get(collection, record_id);
  if (!rec) throw Error(ErrorCode::kNotFound, "no record " + record_id);
  auto it = rec->fields.find(field);
  std::optional<AttachmentRef> ref;
  if (it != rec->fields.end()) ref = AttachmentRef::from_json(*it);
  if (!ref) throw Error(ErrorCode::kNotFound, "the record has no " + field, field);
  if (auto here = read(ref->sha256)) return *here;

  RequestLoop loop(transport, token, options, {});
  TransferSizer sizer(options.max_batch_bytes, options.first_batch_bytes);
  std::string bytes;
  const uint64_t size = static_cast<uint64_t>(ref->size);
  // Bounded: every answer brings at least one byte or ends the loop.
  while (bytes.size() < size) {
    auto target = [&](size_t limit) {
      return "/v1/attachments/" + ref->sha256 + "/content?collection=" + collection +
             "&record=" + record_id + "&offset=" + std::to_string(bytes.size()) +
             "&limit=" + std::to_string(limit);
    };
    CallInfo ci;
    std::string part = loop.call_raw(
        "GET", target(chunk_bytes(sizer)), "", {{"Accept", "application/octet-stream"}}, nullptr,
        &ci, [&](HttpRequest& req, uint64_t partial) {
          sizer.on_cut(static_cast<size_t>(partial));
          req.target = target(chunk_bytes(sizer));
        });
    if (part.empty()) throw Error(ErrorCode::kProtocol, "the server sent no bytes");
    sizer.on_whole(1, ci.wire_down, ci.wire_down, ci.transfer_ms, ci.wire_up + ci.wire_down);
    if (bytes.size() + part.size() > size) {
      throw Error(ErrorCode::kProtocol, "the server sent more bytes than the attachment has");
    }
    bytes += part;
  }
  keep_fetched(*ref, bytes);
  return bytes;
}

}  // namespace lumbung
