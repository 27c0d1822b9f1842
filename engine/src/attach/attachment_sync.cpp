// Attachments over the link (docs/PROTOCOL.md "Attachments"): the upload after the
// records, and the fetch on demand.
//
// Upload of one attachment: GET its status (the server may have it whole already: another
// device sent the same file, or a previous run finished it without hearing the answer),
// then POST chunks from the offset the server holds. Each chunk carries its own SHA-256;
// the server appends it only at the offset it holds and answers the offset it holds now,
// so a chunk sent twice is not kept twice and a cut, Ctrl-C or kill costs at most the chunk
// that was on its way. Chunks are sized by ChunkSizer below: small first, growing while
// they arrive whole, sqrt(2 x heads x bytes carried between cuts) after a cut.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>

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

// Request and answer heads together, for the size rule below (~450 up, ~250 down).
constexpr double kChunkRoundTripOverhead = 700;

}  // namespace

// Named rather than anonymous: FetchLink::State holds a ChunkSizer (gcc -Wsubobject-linkage
// in a unity build).
namespace attach_detail {

// Chunk bodies sized to the link. Until the first cut: the push sizer's growth (8 KiB on the
// wire, doubling while chunks arrive whole). After a cut: a chunk cut on its way is lost
// whole, about half a chunk per cut on average, and every chunk pays its heads, so per byte
// the link carries between cuts (R) the loss is about c/2R + h/c, least at c = sqrt(2hR):
// ~6.5 KB on a link cut every 30 KB, growing as the link carries more between cuts. (A third
// of R, the push batches' rule, carried 2.2x the photo's bytes on that link: measured with
// tests/engine/attachment_sync_test.cpp.)
class ChunkSizer {
 public:
  explicit ChunkSizer(const SyncOptions& o) : sizer_(o.max_batch_bytes, o.first_batch_bytes) {}
  size_t next() const {
    const size_t cap = body_of(sizer_.target());
    // Before the first cut: past 16 KiB only once the link carried 64 KiB whole (a 32 KiB
    // chunk lost on the first connection of a link cut every 30 KB cost 11% of a photo).
    if (run_ == 0) return since_ >= 64 * 1024 ? cap : std::min(cap, body_of(16 * 1024));
    const double best =
        std::sqrt(2 * kChunkRoundTripOverhead * static_cast<double>(std::max(run_, since_)));
    size_t c = std::clamp(static_cast<size_t>(best), kMinChunkBytes, std::max(cap, kMinChunkBytes));
    // A link that cuts after about the same number of bytes each time: the chunk that would
    // straddle the expected cut is shortened to end before it (a link that cuts at random
    // loses nothing by this but a smaller chunk).
    const uint64_t heads = static_cast<uint64_t>(kChunkRoundTripOverhead);
    if (since_ + c + heads > run_ && run_ > since_ + heads + kMinChunkBytes + run_ / 16) {
      c = std::min<size_t>(c, static_cast<size_t>(run_ - since_ - heads - run_ / 16));
    }
    return c;
  }
  void on_whole(int direction, const CallInfo& ci) {
    // The HTTP stack sent it again on a new connection by itself: the first went down
    // with a cut (measured on the relay: without this, chunks grew through every cut).
    if (ci.resent) on_cut(ci.wire_up);
    since_ += ci.wire_up + ci.wire_down;
    const size_t wire = direction == 0 ? ci.wire_up : ci.wire_down;
    sizer_.on_whole(direction, wire, wire, ci.transfer_ms, ci.wire_up + ci.wire_down);
  }
  void on_cut(uint64_t partial) {
    // The HTTP stack counts what it handed to the socket, more than what crossed the link.
    run_ = since_ + partial / 2;
    since_ = 0;
    sizer_.on_cut(static_cast<size_t>(partial));
  }

 private:
  static size_t body_of(size_t wire) {
    return wire > kChunkOverheadBytes + kMinChunkBytes ? wire - kChunkOverheadBytes
                                                       : kMinChunkBytes;
  }
  TransferSizer sizer_;
  uint64_t run_ = 0;    // bytes carried between the last two cuts (0: no cut yet)
  uint64_t since_ = 0;  // ... and since the last one
};

}  // namespace attach_detail

namespace {

using attach_detail::ChunkSizer;

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
  ChunkSizer& sizer;
  const SyncOptions& options;
  AttachmentSyncReport& report;

  // Sends one attachment whole; throws what stops it.
  void send(const AttachmentInfo& info, const std::string& bytes, unsigned index, unsigned count) {
    const AttachmentRef& ref = info.ref;
    auto progress = [&](uint64_t sent) {
      if (options.on_attachment) {
        options.on_attachment(
            AttachmentProgress{ref.sha256, sent, static_cast<uint64_t>(ref.size), index, count});
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
    // A file the server refused last time (a full quota, most often: refused at its first
    // chunk) is tried again with the smallest chunk, so that a refusal repeated at every
    // sync costs ~1.5 KB of the link and not a whole chunk.
    bool probe = info.state == AttachmentState::kFailed && offset == 0;
    const uint64_t size = static_cast<uint64_t>(ref.size);
    while (offset < size) {
      const uint64_t at = offset;
      auto build = [&](HttpRequest& req, size_t n) {
        req.body = bytes.substr(at, n);
        for (auto& [k, v] : req.headers) {
          if (k == "X-Lumbung-Chunk-Sha256") v = attach_detail::sha256_hex(req.body);
        }
      };
      std::string first =
          bytes.substr(at, probe ? std::min(sizer.next(), kMinChunkBytes) : sizer.next());
      probe = false;
      RequestLoop::Headers headers = {{"Content-Type", "application/octet-stream"},
                                      {"X-Lumbung-Chunk-Sha256", attach_detail::sha256_hex(first)}};
      const size_t sent_body = first.size();
      size_t body_now = sent_body;
      CallInfo ci;
      std::string answer;
      try {
        answer = loop.call_raw("POST", chunk_target(ref, at), std::move(first), headers, &problem,
                               &ci, [&](HttpRequest& req, uint64_t partial) {
                                 sizer.on_cut(partial);
                                 body_now = std::min(body_now, sizer.next());
                                 build(req, body_now);
                               });
      } catch (const Error& e) {
        const bool checksum = e.code() == ErrorCode::kValidationFailed &&
                              problem.value("field", std::string()) == "chunk";
        if (checksum && ++checksum_failures <= kChecksumRetries) continue;  // send it again
        throw;
      }
      sizer.on_whole(0, ci);
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
      if (offset >= size)
        throw Error(ErrorCode::kProtocol,
                    "the server holds the whole file "
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
  ChunkSizer sizer(options);
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
      attachments.set_failed(info.ref.sha256, e.what(), error_code_name(e.code()));
    }
  }
  report.bytes_up = loop.bytes_up();
  report.bytes_down = loop.bytes_down();
  report.requests = loop.requests();
  return report;
}

namespace {
// A fetch writes what it received (sealed) each time this much more arrived, so that a
// kill costs at most this much; and once more when it stops.
constexpr size_t kFetchKeepEveryBytes = 64 * 1024;
// Appends the ranges of `ref` after the bytes already in `bytes` until it is whole; calls
// keep(bytes) each time kFetchKeepEveryBytes more arrived.
void fetch_ranges(RequestLoop& loop, ChunkSizer& sizer, const AttachmentRef& ref,
                  const std::string& collection, const std::string& record_id, std::string& bytes,
                  const std::function<void(const std::string&)>& keep);
}  // namespace

// A FetchLink is the sizer of the ranges, kept from one fetch to the next.
struct FetchLink::State {
  std::optional<ChunkSizer> sizer;
};
FetchLink::FetchLink() : state_(std::make_unique<State>()) {}
FetchLink::~FetchLink() = default;

std::string AttachmentStore::fetch(Transport& transport, const std::string& token,
                                   const std::string& collection, const std::string& record_id,
                                   const std::string& field, const SyncOptions& options,
                                   FetchLink* link) {
  auto rec = impl_->store.get(collection, record_id);
  if (!rec) throw Error(ErrorCode::kNotFound, "no record " + record_id);
  auto it = rec->fields.find(field);
  std::optional<AttachmentRef> ref;
  if (it != rec->fields.end()) ref = AttachmentRef::from_json(*it);
  if (!ref) throw Error(ErrorCode::kNotFound, "the record has no " + field, field);
  if (auto here = read(ref->sha256)) return *here;

  RequestLoop loop(transport, token, options, {});
  // Without a link: sized from scratch. With one: from where the previous fetch left it
  // (docs/BENCHMARKS.md "Attachments" measures both).
  std::optional<ChunkSizer> own;
  if (!link) {
    own.emplace(options);
  } else if (!link->state().sizer) {
    link->state().sizer.emplace(options);
  }
  ChunkSizer& sizer = link ? *link->state().sizer : *own;
  const uint64_t size = static_cast<uint64_t>(ref->size);
  // Where an earlier fetch of this file stopped (a cut past the retries, a cancel).
  std::string bytes = impl_->load_partial(ref->sha256);
  if (bytes.size() >= size) bytes.clear();
  try {
    fetch_ranges(loop, sizer, *ref, collection, record_id, bytes,
                 [&](const std::string& b) { impl_->save_partial(ref->sha256, b); });
  } catch (...) {
    // Kept for the next fetch, sealed; a failure to keep them must not hide why it stopped.
    try {
      if (!bytes.empty()) impl_->save_partial(ref->sha256, bytes);
    } catch (const std::exception&) {
    }
    throw;
  }
  impl_->drop_partial(ref->sha256);  // whole now: checked against the sha256 just below
  keep_fetched(*ref, bytes);
  return bytes;
}

namespace {

void fetch_ranges(RequestLoop& loop, ChunkSizer& sizer, const AttachmentRef& ref,
                  const std::string& collection, const std::string& record_id, std::string& bytes,
                  const std::function<void(const std::string&)>& keep) {
  const uint64_t size = static_cast<uint64_t>(ref.size);
  size_t kept = bytes.size();
  // Bounded: every answer brings at least one byte or ends the loop.
  while (bytes.size() < size) {
    auto target = [&](size_t limit) {
      return "/v1/attachments/" + ref.sha256 + "/content?collection=" + collection +
             "&record=" + record_id + "&offset=" + std::to_string(bytes.size()) +
             "&limit=" + std::to_string(limit);
    };
    CallInfo ci;
    std::string part =
        loop.call_raw("GET", target(sizer.next()), "", {{"Accept", "application/octet-stream"}},
                      nullptr, &ci, [&](HttpRequest& req, uint64_t partial) {
                        sizer.on_cut(partial);
                        req.target = target(sizer.next());
                      });
    if (part.empty()) throw Error(ErrorCode::kProtocol, "the server sent no bytes");
    sizer.on_whole(1, ci);
    if (bytes.size() + part.size() > size) {
      throw Error(ErrorCode::kProtocol, "the server sent more bytes than the attachment has");
    }
    bytes += part;
    if (bytes.size() < size && bytes.size() - kept >= kFetchKeepEveryBytes) {
      keep(bytes);
      kept = bytes.size();
    }
  }
}

}  // namespace

}  // namespace lumbung
