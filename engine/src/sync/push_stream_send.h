// The client's half of the streamed push (docs/PROTOCOL.md "Streamed push"): the unsent
// change log as frames of push change sets in one body (lumbung/push_stream.h), sent in one
// request that the server applies frame by frame as it arrives. After a cut the client
// asks `GET /v1/push/state?after=SEQ` how far the server got and what it answered for those
// ops (re-stamps, refusals, stored values), takes that in as a push answer, and sends only
// the rest. Only to a server that said it reads streams (server_reads_push_stream); one
// that refuses a stream anyway (its refusal does not say "push_stream") gets batches.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "lumbung/store.h"
#include "sync/request_loop.h"

namespace lumbung::sync_detail {

struct PushStreamBody {
  std::string body;  // empty: nothing after `after`
  uint64_t first = 0, last = 0;
  size_t text_bytes = 0;  // the ops' JSON text, for the sizer
  uint64_t frames = 0;
};

// The stream of the unsent ops after `after`: frames of about `frame_text` JSON bytes and
// at most `frame_ops` ops each, the first with `report` (completed as a push batch's:
// pending, last_seq, ...), up to `max_ops` ops and about `max_body` compressed bytes in
// all, at zstd `level`.
PushStreamBody build_push_stream(const Store& store, uint64_t after, uint64_t acked,
                                 const Json& report, size_t frame_text, size_t frame_ops,
                                 size_t max_ops, size_t max_body, int level);

// Sends what build(after) returns until it is empty. `take(answer, first, last, info)` takes
// a push answer in (a whole stream's, or after a cut the state's, then `info` is null) for
// the ops first..last and returns the seq acknowledged. `on_cut` is told the bytes of an
// attempt the link cut. Returns false if the server does not read push streams (nothing was
// applied by this call then), or refused one (what it applied was taken in): the caller
// pushes the rest in batches. Throws as RequestLoop::call does.
//
// A server that refused a stream as an older one does (without "push_stream") is
// remembered in the store (meta "server_push_stream" = "0"): later syncs push in batches
// until an answer says the server reads streams again (note_push_stream_server).
bool run_push_stream(
    RequestLoop& link, Store& store, uint64_t acked,
    const std::function<PushStreamBody(uint64_t after)>& build,
    const std::function<uint64_t(const Json& answer, uint64_t first, uint64_t last,
                                 const CallInfo* info, const PushStreamBody& sent)>& take,
    const std::function<void(uint64_t partial)>& on_cut);

// Whether an answer carries `Lumbung-Push-Stream: 1`: servers that read push streams send it
// on the register, pull and push answers (docs/PROTOCOL.md "Streamed push").
bool says_push_stream(const CallInfo& info);

// Remembers in the store (meta "server_push_stream" = "1") that the server said it reads
// push streams, also after it had refused one as an older server (upgraded). Call on the
// syncing thread.
void note_push_stream_server(Store& store);
inline void note_push_stream_server(Store& store, const CallInfo& info) {
  if (says_push_stream(info)) note_push_stream_server(store);
}

// True once the server said it reads push streams and has not refused one since: only
// then may a client stream (a server that never said so gets batches, never a stream sent
// for nothing).
bool server_reads_push_stream(const Store& store);

}  // namespace lumbung::sync_detail
