// The client's half of the streamed pull (docs/PROTOCOL.md "Streamed pull"): one request
// (with its retries) runs on a helper thread and reads the answer as it arrives; every
// frame that arrived whole is handed, through a queue of at most two frames, to the
// syncing thread, which applies it with its cursor in one store transaction as it applies
// a page. After a cut the request is sent again from the cursor of the last whole frame,
// so what arrived whole is never asked for again.
#pragma once

#include <functional>
#include <string>

#include "lumbung/sync.h"
#include "sync/helper_thread.h"
#include "sync/request_loop.h"

namespace lumbung::sync_detail {

struct StreamResult {
  bool streamed = false;  // false: the server answered one page the usual way (`page`)
  Json page;              // that page (an older server ignores stream=1)
  CallInfo info;          // of the last attempt
  uint64_t frames = 0;    // frames handed over, every attempt together
  // The last attempt's body from its first byte to its last, less the time the client
  // spent on it (decoding, or waiting to apply): the link's pace, without the server's
  // time to build the answer nor the client's to apply it. ms; 0 if no body came.
  int64_t body_ms = 0;
};

// `target(cursor)` is the request to send from a cursor. `apply` runs on the calling
// thread for each whole frame, in order (false: stop, nothing more is wanted), told the
// time since the request was sent; only the first frame keeps "server_time_ms" (the server
// wrote every frame before the first went out). A frame with more: true, no ops and the
// cursor it started from is Error(kProtocol, "pull cursor did not move"). `idle` runs
// there about every 100 ms while it waits (progress, cancellation: what it throws ends the
// pull, after the request was stopped). `on_cut` is told the bytes of an attempt that the
// link cut, before the next attempt. Frames applied stay applied whatever is thrown after.
StreamResult run_pull_stream(RequestLoop& link, HelperThread& helper,
                             const std::function<std::string(const std::string&)>& target,
                             const std::string& cursor,
                             const std::function<void(uint64_t partial)>& on_cut,
                             const std::function<bool(Json& page, int64_t rtt_ms)>& apply,
                             const std::function<void()>& idle);

}  // namespace lumbung::sync_detail
