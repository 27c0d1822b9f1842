#include "common/progress.h"

#include <string>

#include "common/i18n.h"
#include "common/output.h"

namespace lumbung::cli {

ProgressBar::ProgressBar(std::ostream& out, bool terminal, bool json)
    : out_(out),
      terminal_(terminal && !json),
      json_(json),
      start_(std::chrono::steady_clock::now()) {}

namespace {

std::string clock_text(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

// What the link is doing (SyncProgress::Stage), in both languages. Kept beside the bar
// that is their only user.
std::string stage_text(const SyncProgress& p) {
  const bool id = language() == Lang::kIndonesian;
  using S = SyncProgress::Stage;
  switch (p.stage) {
    case S::kConnecting:
      return id ? "menghubungi server…" : "connecting…";
    case S::kSending:
      return (id ? "mengirim " : "sending ") + human_bytes(p.request_sent) + "/" +
             human_bytes(p.request_size);
    case S::kWaiting:
      return id ? "menunggu jawaban server…" : "waiting for the server…";
    case S::kReceiving:
      return (id ? "menerima " : "receiving ") + human_bytes(p.request_received);
    case S::kRetryWait: {
      const std::string n = std::to_string(p.attempt + 1), m = std::to_string(p.max_attempts);
      const std::string t = std::to_string((p.retry_in_ms + 999) / 1000);
      return id ? "koneksi putus; coba lagi " + n + " dari " + m + " dalam " + t + " d"
                : "link failed; retry " + n + " of " + m + " in " + t + " s";
    }
    case S::kIdle:
      break;
  }
  return {};
}

const char* stage_name(SyncProgress::Stage s) {
  using S = SyncProgress::Stage;
  switch (s) {
    case S::kConnecting:
      return "connecting";
    case S::kSending:
      return "sending";
    case S::kWaiting:
      return "waiting";
    case S::kReceiving:
      return "receiving";
    case S::kRetryWait:
      return "retry_wait";
    case S::kIdle:
      break;
  }
  return "idle";
}

}  // namespace

void ProgressBar::print_json(const SyncProgress& p) {
  static const char* kPhase[] = {"push", "pull", "done"};
  Json j{{"event", "progress"},
         {"phase", kPhase[static_cast<int>(p.phase)]},
         {"stage", stage_name(p.stage)},
         {"ops_pushed", p.ops_pushed},
         {"ops_to_push", p.ops_to_push},
         {"ops_pulled", p.ops_pulled},
         {"bytes_up", p.bytes_up},
         {"bytes_down", p.bytes_down},
         {"retries", p.retries},
         {"request_sent", p.request_sent},
         {"request_size", p.request_size},
         {"request_received", p.request_received},
         {"attempt", p.attempt},
         {"max_attempts", p.max_attempts}};
  if (p.stage == SyncProgress::Stage::kRetryWait) {
    j["retry_in_ms"] = p.retry_in_ms;
    j["error"] = p.last_error;
  }
  out_ << j.dump() << "\n" << std::flush;
}

std::string ProgressBar::render(const SyncProgress& p) const {
  const auto now = std::chrono::steady_clock::now();
  std::string up = "↑ " + tr("sync.up") + " " + group_number(static_cast<int64_t>(p.ops_pushed)) +
                   "/" + group_number(static_cast<int64_t>(p.ops_to_push));
  if (p.ops_to_push > 0) {
    const double frac = static_cast<double>(p.ops_pushed) / static_cast<double>(p.ops_to_push);
    const int filled = static_cast<int>(frac * 16 + 0.5);
    up += " ";
    for (int i = 0; i < 16; ++i) up += i < filled ? "█" : "░";
    up += " " + std::to_string(static_cast<int>(frac * 100)) + "%";
    // Time left: the rate so far, over the changes still to send.
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    if (p.ops_pushed > 0 && p.ops_pushed < p.ops_to_push) {
      const double left = elapsed / static_cast<double>(p.ops_pushed) *
                          static_cast<double>(p.ops_to_push - p.ops_pushed);
      up += "  " + tr("sync.eta", {{"t", clock_text(left)}});
    } else if (p.ops_pushed >= p.ops_to_push) {
      up += "  " + tr("sync.done_word");
    }
  }
  up += "  " + human_bytes(p.bytes_up);
  // The server does not say how many ops a pull still has, so the pull side shows its rate
  // and an estimate only once a page came back short (the end is then known).
  std::string down = "↓ " + tr("sync.down") + " " +
                     group_number(static_cast<int64_t>(p.ops_pulled)) + "  " +
                     human_bytes(p.bytes_down);
  if (pull_started_ && p.phase == SyncProgress::Phase::kPull) {
    const double elapsed = std::chrono::duration<double>(now - push_done_).count();
    if (elapsed > 0.5 && p.ops_pulled > 0) {
      down += "  " + tr("sync.rate", {{"n", std::to_string(static_cast<long>(
                                                static_cast<double>(p.ops_pulled) / elapsed))}});
    }
  } else if (p.phase == SyncProgress::Phase::kDone) {
    down += "  " + tr("sync.done_word");
  }
  std::string line = up + " │ " + down;
  if (p.retries > 0) line += "  " + tr("sync.retries", {{"n", std::to_string(p.retries)}});
  if (p.phase != SyncProgress::Phase::kDone) {
    const std::string stage = stage_text(p);
    if (!stage.empty()) line += "  · " + stage;
  }
  return line;
}

void ProgressBar::update(const SyncProgress& p) {
  const auto now = std::chrono::steady_clock::now();
  if (p.phase == SyncProgress::Phase::kPull && !pull_started_) {
    pull_started_ = true;
    push_done_ = now;
  }
  if (json_) {
    const int phase = static_cast<int>(p.phase);
    if (phase == last_phase_ && now - last_print_ < std::chrono::seconds(1)) return;
    print_json(p);
    last_phase_ = phase;
    last_print_ = now;
    return;
  }
  const std::string line = render(p);
  if (terminal_) {
    out_ << "\r\033[K" << line << std::flush;
    drawn_ = true;
    return;
  }
  if (p.phase != SyncProgress::Phase::kDone && drawn_ &&
      now - last_print_ < std::chrono::seconds(1)) {
    return;
  }
  out_ << line << "\n" << std::flush;
  drawn_ = true;
  last_print_ = now;
}

void ProgressBar::finish() {
  if (terminal_ && drawn_) out_ << "\n" << std::flush;
  drawn_ = false;
}

}  // namespace lumbung::cli
