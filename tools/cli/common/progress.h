// The sync progress line on stderr: records, bytes and estimated time left, both ways.
//
//   ↑ kirim 1.200/5.000 ███████░░░░░░░░░ 24%  98,4 KB  sisa ~0:41 │ ↓ terima 300  20,1 KB
//
// After it, what the link is doing now: connecting, sending (bytes of the request),
// waiting for the server, receiving (bytes), or "retry N of M in T s" after a failure. The
// sync calls update() at least every kProgressEveryMs, so the line never freezes.
// On a terminal the line is redrawn in place; otherwise (a pipe, a log file) one line is
// printed per update, at most once a second, so logs stay short. Called on the syncing
// thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>

#include "lumbung/sync.h"

namespace lumbung::cli {

class ProgressBar {
 public:
  // `json`: instead of the line, one JSON object a line (`lumbung sync --json`), at most
  // one a second plus one when the phase changes:
  //   {"event":"progress","phase":"push","stage":"sending","ops_pushed":0,...}
  ProgressBar(std::ostream& out, bool terminal, bool json = false);
  void update(const SyncProgress& p);
  // Ends the line (terminal) so later output starts on a new one.
  void finish();

 private:
  std::string render(const SyncProgress& p) const;
  void print_json(const SyncProgress& p);
  std::ostream& out_;
  bool terminal_;
  bool json_;
  int last_phase_ = -1;  // json: the phase of the last event printed
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point push_done_;
  std::chrono::steady_clock::time_point last_print_;
  bool pull_started_ = false;
};

}  // namespace lumbung::cli
