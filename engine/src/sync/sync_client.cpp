// The sync client: pushes the change log, then pulls until the server has no more.
//
// One SyncClient::Run per call does the talking: its RequestLoop (request_loop.h) owns
// the retries, counters and the link's state; its TransferSizer (transfer_sizer.h) sizes
// push batches and pull pages in bytes to what the link carries whole. It runs on the
// caller's thread, plus one helper task at a time that overlaps the next step with the
// current one: while a push batch is with the server the next batch is read and
// compressed; while a pull page is applied the next page is fetched. Only one thread talks
// to the Transport at a time.

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <thread>
#include <utility>

#include "common/gzip.h"
#include "lumbung/attachments.h"
#include "lumbung/changeset.h"
#include "lumbung/error.h"
#include "lumbung/sync.h"
#include "sync/helper_thread.h"
#include "sync/pull_stream_fetch.h"
#include "sync/push_answer.h"
#include "sync/push_stream_send.h"
#include "sync/request_loop.h"
#include "sync/transfer_sizer.h"

namespace lumbung {
namespace {

constexpr int kPush = 0, kPull = 1;  // TransferSizer directions
// Store meta: "1" once the server read a v2 push as v1 (an older server); see Run().
constexpr const char* kServerPushFormat = "server_push_format";

// Change-set v2 bodies on a link faster than kSlowLinkBytesPerSec: zstd 3 costs about a
// third of zstd 19's CPU for ~11% more bytes (docs/BENCHMARKS.md "Change-set format v2").
constexpr int kFastLinkZstdLevel = 3;
// Most ops in one streamed push request (each frame is a batch): the server's answer lists
// each refusal and stored value, and a request this long is minutes on 2G anyway.
constexpr size_t kPushStreamMaxOps = 20000;
V2EncodeOptions v2_encoding(bool slow_link) {
  return V2EncodeOptions{V2Compression::kZstd,
                         slow_link ? V2EncodeOptions{}.level : kFastLinkZstdLevel};
}

}  // namespace

class SyncClient::Run {
 public:
  Run(SyncClient& c, const SyncOptions& o)
      : c_(c),
        o_(o),
        start_(std::chrono::steady_clock::now()),
        link_(c.transport_, c.token_, o, [this](bool force) { tick(force); }),
        sizer_(o.max_batch_bytes, o.first_batch_bytes) {
    // A server that read a v2 push as v1 once is sent v1 from then on, until it answers a
    // pull in v2 (it was upgraded): no failed v2 batch on every sync over a 2G link.
    if (o.changeset_format == 0 && c.store_.get_meta(kServerPushFormat) == "1") v2_push_ = false;
    progress_.ops_to_push = c.store_.pending_count();
    last_emit_ = start_;
  }

  // One push batch, read from the log and compressed, ready to send.
  struct Outgoing {
    std::vector<WireChange> changes;
    std::string gzip_body;
    size_t text_bytes = 0;  // the JSON before gzip
  };

  // The ops after `after_seq` whose JSON fits the sizer's budget now (at least one).
  Outgoing prepare_batch(uint64_t after_seq, const Json& report_base) {
    Store& store = c_.store_;
    Outgoing out;
    const size_t budget = sizer_.text_budget(kPush);
    // Read about as many ops as the budget holds (learned op size), then trim to it.
    const size_t guess = budget / std::max<size_t>(avg_op_text_.load(), 64) * 5 / 4 + 1;
    const size_t asked = std::min(o_.push_batch, guess);
    out.changes = store.pending_wire(asked, after_seq);
    if (out.changes.empty()) return out;
    size_t text = 0, keep = 0, all_text = 0;
    for (const WireChange& c : out.changes) all_text += c.json.size() + 1;
    // The last ops of the log within a quarter over the budget go along: a tail batch of a
    // few ops would cost a request (headers both ways, a round trip) and a compression
    // stream of its own for little.
    if (out.changes.size() < asked && all_text <= budget + budget / 4) {
      keep = out.changes.size();
    } else {
      for (; keep < out.changes.size(); ++keep) {
        text += out.changes[keep].json.size() + 1;
        if (keep > 0 && text > budget) break;
      }
    }
    out.changes.resize(keep);
    std::string body = "{\"device\":" + Json(store.device_id()).dump() + ",\"ops\":[";
    for (size_t i = 0; i < out.changes.size(); ++i) {
      if (i) body += ',';
      body += out.changes[i].json;
    }
    avg_op_text_ = std::max<size_t>(1, (body.size() - 40) / out.changes.size());
    Json report = report_base;
    const uint64_t pending = store.pending_count();  // when this batch was read
    report["pending"] = pending;
    // The newest seq then: the office counts what is still unsent against its own acked_seq
    // (the pending count includes this very batch, which the server may take a moment later).
    report["last_seq"] = acked_seq_of(store) + pending;
    report["oldest_pending_ms"] = out.changes.front().written_ms;
    // The version this laptop works under now (its unsent ops may be older: their "sv").
    report["schema_version"] = store.schema().version();
    body += "],\"report\":" + report.dump() + "}";
    out.text_bytes = body.size();
    // A slow link carries the smallest body sooner; on a fast one the CPU sets the pace.
    const bool slow = sizer_.slow_link();
    out.gzip_body = v2_push_ ? encode_changeset_v2(Json::parse(body), v2_encoding(slow))
                             : gzip::compress(body, slow ? 9 : 6);
    return out;
  }

  void push() {
    progress_.phase = SyncProgress::Phase::kPush;
    Store& store = c_.store_;
    // The status report rides along with every batch so the central office sees pending
    // work per laptop; counting records scans the table, so it is counted once per sync.
    const StoreStats stats = store.stats();
    Json report{{"records", stats.records}, {"open_conflicts", stats.open_conflicts}};
    if (stats.last_sync_ms) report["last_sync_ms"] = *stats.last_sync_ms;
    if (may_stream() && push_stream(report)) return;
    // Until the server says it reads streams (a laptop registered before it said so): its
    // first batch answer does, and the rest goes as a stream.
    bool stream_later = o_.push_stream && !sync_detail::server_reads_push_stream(store);
    Outgoing batch = prepare_batch(0, report);
    while (!batch.changes.empty()) {
      check_cancel();
      const uint64_t first = batch.changes.front().seq;
      const uint64_t planned_last = batch.changes.back().seq;
      // Read and compress the next batch while this one is with the server.
      auto next = helper_.submit([&, planned_last] { return prepare_batch(planned_last, report); });
      Json problem;
      Json ack;
      sync_detail::CallInfo info;
      // After a cut the batch is read again at the smaller size: a large batch on a link
      // that cuts more often than it is long would otherwise never arrive.
      auto smaller = [&](HttpRequest& req, uint64_t partial) {
        sizer_.on_cut(partial);
        if (batch.gzip_body.size() <= sizer_.target()) return;
        next.wait();
        batch = prepare_batch(first - 1, report);
        req.body = batch.gzip_body;
      };
      try {
        ack = link_.call("POST", "/v1/push", batch.gzip_body, &problem, &info, smaller);
      } catch (const Error& e) {
        next.wait();
        // A server older than v2 refuses the v2 body as it would any bad body, and without
        // "changeset_formats": v1 for the rest of this sync (SyncOptions::changeset_format).
        if (v2_push_ && o_.changeset_format == 0 && !problem.contains("changeset_formats") &&
            (e.code() == ErrorCode::kMalformedJson || e.code() == ErrorCode::kProtocol)) {
          v2_push_ = false;
          store.set_meta(kServerPushFormat, "1");
          batch = prepare_batch(first - 1, report);
          continue;
        }
        if (e.code() != ErrorCode::kSeqGap || !problem.contains("expected_seq")) throw;
        // The server has a different idea of what it holds: realign and go on. Ahead =
        // it applied a batch whose answer we lost; behind = it lost data (restored backup).
        const uint64_t expected = problem["expected_seq"].get<uint64_t>();
        if (expected == 0 || ++realignments_ > 3) throw;
        const uint64_t have = expected - 1;
        if (have >= first) {
          store.acknowledge(std::min<uint64_t>(have, batch.changes.back().seq));
        } else {
          store.rewind_acknowledged(have);
        }
        batch = prepare_batch(0, report);
        continue;
      }
      const uint64_t last = batch.changes.back().seq;  // `smaller` may have cut the batch
      if (info.resent) sizer_.on_cut(info.wire_up);    // the HTTP stack's own retry: a cut too
      sizer_.on_whole(kPush, info.wire_up, batch.text_bytes, info.transfer_ms,
                      info.wire_up + info.wire_down);
      sync_detail::note_push_stream_server(store, info);  // it reads streams (upgraded?)
      if (take_answer(ack, first, last, info.rtt_ms) == 0) {
        next.wait();
        throw Error(ErrorCode::kProtocol, "server acknowledged nothing of a push batch");
      }
      batch = next.get();
      if (stream_later && may_stream()) {
        stream_later = false;
        if (push_stream(report)) return;
        batch = prepare_batch(0, report);  // refused: batches for the rest
        continue;
      }
      if (batch.changes.empty() || batch.changes.front().seq != last + 1) {
        // Read after a batch that a cut then shrank (it planned to end later than it did:
        // empty when it planned to take the log's last op, and the push would end with ops
        // unsent), or the log moved under us (a rewind): read again from what is unsent.
        batch = prepare_batch(0, report);
      } else if (!batch.changes.empty() && sizer_.slow_link() &&
                 batch.gzip_body.size() < sizer_.target() / 2 &&
                 batch.changes.size() < o_.push_batch) {
        // Read while this batch was on its way, at the size before it arrived: the sizer has
        // grown since (x2 on a clean link). On a slow link a request costs far more than
        // reading the batch again, so it goes at the new size (fewer requests and headers,
        // and a larger batch compresses better: 2G push, BENCHMARKS.md).
        batch = prepare_batch(last, report);
      }
    }
  }

  // A push answer for the ops first..last (sync/push_answer.h). Returns how many ops were
  // newly acknowledged.
  uint64_t take_answer(const Json& ack, uint64_t first, uint64_t last, int64_t rtt_ms) {
    const sync_detail::AnswerTaken t =
        sync_detail::take_push_answer(c_.store_, ack, first, last, rtt_ms);
    report_.restamped += t.restamped;
    report_.refused += t.refused;
    report_.pushed += t.acknowledged;
    progress_.ops_pushed += t.acknowledged;
    emit();
    return t.acknowledged;
  }

  // Streamed while the link is slow, to a server that said it reads streams and v2 pushes.
  bool may_stream() const {
    return o_.push_stream && v2_push_ && o_.changeset_format != 1 && sizer_.slow_link() &&
           sync_detail::server_reads_push_stream(c_.store_) && c_.store_.pending_count() > 0;
  }

  // The streamed push (sync/push_stream_send.h). False: push the rest in batches.
  bool push_stream(const Json& report) {
    Store& store = c_.store_;
    auto build = [&](uint64_t after) {
      const size_t frame = sizer_.text_budget(kPush) * (sizer_.cut_seen() ? 1 : 2);
      return sync_detail::build_push_stream(store, after, acked_seq_of(store), report, frame,
                                            o_.push_batch, kPushStreamMaxOps, kMaxBodyBytes / 2,
                                            v2_encoding(sizer_.slow_link()).level);
    };
    auto take = [&](const Json& ack, uint64_t first, uint64_t last,
                    const sync_detail::CallInfo* info, const sync_detail::PushStreamBody& b) {
      if (info) {
        if (info->resent) sizer_.on_cut(info->wire_up);
        sizer_.on_whole(kPush, info->wire_up, b.text_bytes, info->transfer_ms,
                        info->wire_up + info->wire_down);
      }
      take_answer(ack, first, last, 0);  // its time is the body's end, not the upload's middle
      return acked_seq_of(store);
    };
    return sync_detail::run_push_stream(link_, store, acked_seq_of(store), build, take,
                                        [this](uint64_t n) { sizer_.on_cut(n); });
  }

  // One pull page, fetched and decoded.
  struct Incoming {
    std::vector<Op> ops;
    std::string next;
    bool more = false;
    Json reply;  // for server_time_ms
    int64_t rtt_ms = 0;
    bool v2 = false;           // answered in change-set format v2
    bool push_stream = false;  // the server said it reads push streams
  };

  // `max_bytes` asks the server for a page whose ops' JSON fits the sizer's budget (a v1
  // server ignores it and sends up to pull_page ops); `refusals=1` for the notices of this
  // device's changes refused after their acknowledgement (Store::apply_page keeps them);
  // `snapshot=auto` with no cursor yet (SyncOptions::bootstrap_snapshot and bootstrap_auto,
  // on by default): the server answers a new laptop with its regions' current records (each
  // "rec" with one shared version as "*") or a replay, whichever costs less there;
  // `snapshot=2` forces the records (a server without snapshots replays the log).
  // `sv`: the schema version this laptop works under (the office lists laptops left on
  // older ones, also those with nothing to push). `zstd_level` once the link has shown it is fast:
  // a v2 page then costs the server less CPU for a few per cent more bytes (a v1 answer, or an
  // older server, ignores it).
  // `stream`: frames of that page size in one answer (pull_stream()), twice the size until
  // a cut: small frames cost bytes, a cut loses the one under way (BENCHMARKS.md).
  std::string pull_target(const std::string& cursor, bool stream = false) const {
    const size_t budget = sizer_.text_budget(kPull) * (stream && !sizer_.cut_seen() ? 2 : 1);
    return std::string(stream ? "/v1/pull?stream=1&" : "/v1/pull?") +
           "limit=" + std::to_string(o_.pull_page) + "&max_bytes=" + std::to_string(budget) +
           "&refusals=1" +
           (sizer_.slow_link() ? "" : "&zstd_level=" + std::to_string(kFastLinkZstdLevel)) +
           "&sv=" + std::to_string(c_.store_.schema().version()) +
           (cursor.empty() ? (!o_.bootstrap_snapshot ? ""
                              : o_.bootstrap_auto    ? "&snapshot=auto"
                                                     : "&snapshot=2")
                           : "&cursor=" + url_encode(cursor));
  }

  Incoming fetch_page(const std::string& cursor) {
    Incoming in;
    sync_detail::CallInfo info;
    auto smaller = [&](HttpRequest& req, uint64_t partial) {  // after a cut: a smaller page
      sizer_.on_cut(partial);
      req.target = pull_target(cursor);
    };
    in.reply = link_.call("GET", pull_target(cursor), "", nullptr, &info, smaller);
    in.rtt_ms = info.rtt_ms;
    in.v2 = info.v2_answer;
    in.push_stream = sync_detail::says_push_stream(info);
    if (info.resent) sizer_.on_cut(info.wire_down);  // the HTTP stack's own retry: a cut too
    sizer_.on_whole(kPull, info.wire_down, info.answer_text, info.transfer_ms,
                    info.wire_up + info.wire_down);
    decode_page(in);
    return in;
  }

  static void decode_page(Incoming& in) {
    Json& arr = in.reply.at("ops");
    in.ops.reserve(arr.size());
    for (auto& o : arr) in.ops.push_back(decode_op(std::move(o), ""));
    arr = Json();  // the ops are decoded; keep only the small members
    in.next = in.reply.at("next").get<std::string>();
    in.more = in.reply.value("more", false);
  }

  // The streamed pull (sync/pull_stream_fetch.h): each frame applied as a page as it
  // arrives. False when the server answered a page instead (older than the stream): that
  // page is applied, and pull() goes on page by page if it has more.
  bool pull_stream() {
    for (;;) {
      bool more = false;
      auto apply = [&](Json& reply, int64_t rtt_ms, bool v2) {
        Incoming page{{}, {}, false, std::move(reply), rtt_ms, v2};
        decode_page(page);
        more = page.more;
        return apply_page(page);
      };
      sync_detail::StreamResult s = sync_detail::run_pull_stream(
          link_, helper_, [this](const std::string& c) { return pull_target(c, true); },
          c_.store_.get_meta("pull_cursor"), [this](uint64_t n) { sizer_.on_cut(n); },
          [&](Json& reply, int64_t rtt_ms) { return apply(reply, rtt_ms, true); },
          [this] { check_cancel(), tick(false); });
      if (s.info.resent) sizer_.on_cut(s.info.wire_down);
      // A stream's pace is the link's alone (body_ms): not the server's time to build it
      // nor the client's to apply it, which would make a fast link look slow.
      sizer_.on_whole(kPull, s.info.wire_down, s.streamed ? 0 : s.info.answer_text,
                      s.streamed && s.body_ms > 0 ? s.body_ms : s.info.transfer_ms,
                      s.info.wire_up + s.info.wire_down);
      if (s.streamed || s.info.v2_answer) server_reads_v2();
      sync_detail::note_push_stream_server(c_.store_, s.info);
      if (!s.streamed && !apply(s.page, s.info.rtt_ms, s.info.v2_answer)) return true;
      if (regions_changed_ || !more) return true;
      if (!s.streamed || !sizer_.slow_link()) return false;  // a fast link: pages overlap
    }
  }

  // A server remembered as reading only v1 pushes that answers in v2 was upgraded.
  void server_reads_v2() {
    if (c_.store_.get_meta(kServerPushFormat) == "1") c_.store_.set_meta(kServerPushFormat, "");
  }

  // One page (or streamed frame) applied with its cursor in one store transaction. False
  // once the regions changed: the cursor was cleared and the next pull() starts over.
  bool apply_page(Incoming& page) {
    Store& store = c_.store_;
    // The server's time first: a clock running behind would otherwise clamp the versions
    // observed below (HybridClock::observe), and this laptop's next edit of such a field
    // would be stamped below the version it replaces and lose everywhere with no entry
    // (tests/sim --restores seed 4094). A pull-back to now also comes before, not after,
    // the versions observed.
    sync_detail::correct_clock(store, page.reply, page.rtt_ms);
    // The cursor named a history the server lost (restored from an older copy): drop what
    // only that history held, in one transaction with the replay's first page
    // (Store::apply_replay).
    const auto reset = page.reply.find("reset");
    const bool replay = reset != page.reply.end() && *reset == true;
    const RemoteApplyResult r = replay ? store.apply_replay(page.ops, {{"pull_cursor", page.next}})
                                       : store.apply_remote(page.ops, {{"pull_cursor", page.next}});
    if (replay) resend_restamped();
    report_.pulled += page.ops.size();
    report_.applied += r.applied;
    report_.conflicts += r.conflicts.size();
    report_.refused += r.refused;
    progress_.ops_pulled += page.ops.size();
    learn_from_page(page.reply);
    emit();
    return !regions_changed_;
  }

  void pull() {
    progress_.phase = SyncProgress::Phase::kPull;
    Store& store = c_.store_;
    // Streamed while the link is slow (round trips cost there); on a fast one pages are
    // read while the one before is applied, and the server's time overlaps the client's.
    if (o_.pull_stream && o_.changeset_format != 1 && !no_stream_ && sizer_.slow_link() &&
        pull_stream()) {
      return;
    }
    no_stream_ = true;  // page by page for the rest of the sync
    std::string cursor = store.get_meta("pull_cursor");
    Incoming page = fetch_page(cursor);
    if (page.v2) server_reads_v2();
    if (page.push_stream) sync_detail::note_push_stream_server(store);
    for (int pages = 0;; ++pages) {
      check_cancel();
      if (page.more && page.next == cursor && page.ops.empty()) {
        throw Error(ErrorCode::kProtocol, "pull cursor did not move");
      }
      // Fetch the next page while this one is applied; its cursor commits with its ops.
      sync_detail::Pending<Incoming> next;
      if (page.more) {
        next = helper_.submit([this, c = page.next] { return fetch_page(c); });
      }
      bool go_on = false;
      try {
        go_on = apply_page(page);
      } catch (...) {
        if (next.valid()) next.wait();
        throw;
      }
      if (!go_on) {  // the cursor was cleared: the next pull() starts over
        if (next.valid()) next.wait();
        break;
      }
      if (!next.valid()) break;
      cursor = page.next;
      link_.wait_ticking(next);
      page = next.get();
    }
  }

  // A pull answer also says which regions this device has and how far the server holds
  // its changes. A server restored from an older copy holds fewer than the device was told:
  // the device then sends them again from its log (it keeps acknowledged entries).
  void learn_from_page(const Json& reply) {
    Store& store = c_.store_;
    if (auto it = reply.find("regions"); it != reply.end() && it->is_array()) {
      std::vector<std::string> regions;
      for (const auto& r : *it) {
        if (r.is_string()) regions.push_back(r.get<std::string>());
      }
      // Other regions: the pull starts again from nothing (pull() stops here; sync() pulls
      // once more), records now outside them leave (Store::set_regions).
      if (regions != store.regions() && store.set_regions(regions)) regions_changed_ = true;
    }
    // The server's schema version: the officer's tool fetches a newer one (fetch_schema).
    if (auto it = reply.find("schema_version"); it != reply.end() && it->is_number_integer()) {
      report_.server_schema_version = it->get<int>();
      const std::string v = std::to_string(report_.server_schema_version);
      if (store.get_meta("server_schema_version") != v) store.set_meta("server_schema_version", v);
    }
    if (auto it = reply.find("acked_seq"); it != reply.end() && it->is_number_unsigned()) {
      const uint64_t server_has = it->get<uint64_t>();
      if (server_has < acked_seq_of(store)) {
        store.rewind_acknowledged(server_has);
        resend_needed_ = true;
      }
    }
  }

  // The restored server may hold this device's re-stamped ops under other stamps than the
  // ones this device took: a stale copy of a push, delivered into the new history, was
  // re-stamped again there and acknowledged. Sending them again asks (the server answers
  // an op it holds with the stamp it holds; tests/sim --restores seed 4485).
  void resend_restamped() {
    Store& store = c_.store_;
    const std::string from = store.get_meta("restamped_from");
    if (from.empty()) return;
    const uint64_t first = std::stoull(from);
    if (first == 0 || first > acked_seq_of(store)) return;
    store.rewind_acknowledged(first - 1);
    resend_needed_ = true;
  }

  static uint64_t acked_seq_of(const Store& store) {
    const std::string a = store.get_meta("acked_seq");
    return a.empty() ? 0 : std::stoull(a);
  }

  bool resend_needed() const { return resend_needed_; }
  bool take_regions_changed() { return std::exchange(regions_changed_, false); }

  SyncReport finish() {
    progress_.phase = SyncProgress::Phase::kDone;
    emit();
    report_.requests = link_.requests();
    report_.bytes_up = link_.bytes_up();
    report_.bytes_down = link_.bytes_down();
    report_.retries = link_.retries();
    report_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return report_;
  }

  void mark_synced() {
    c_.store_.set_meta("last_sync_ms", std::to_string(c_.store_.clock().physical_now_ms()));
  }

 private:
  void check_cancel() const { link_.check_cancel(); }
  // On the syncing thread only.
  void emit() {
    link_.fill(progress_);
    progress_.transfer_bytes = sizer_.target();
    last_emit_ = std::chrono::steady_clock::now();
    if (o_.on_progress) o_.on_progress(progress_);
  }
  // Called by the RequestLoop on the syncing thread while it waits.
  void tick(bool force) {
    if (force || std::chrono::steady_clock::now() - last_emit_ >=
                     std::chrono::milliseconds(kProgressEveryMs)) {
      emit();
    }
  }
  SyncClient& c_;
  const SyncOptions& o_;
  std::chrono::steady_clock::time_point start_;
  SyncReport report_;
  SyncProgress progress_;
  int realignments_ = 0;
  bool resend_needed_ = false;
  std::chrono::steady_clock::time_point last_emit_;
  sync_detail::RequestLoop link_;
  sync_detail::TransferSizer sizer_;
  bool regions_changed_ = false;          // a pull answer gave other regions (learn_from_page)
  bool no_stream_ = false;                // the server answered a stream=1 pull with a page
  std::atomic<size_t> avg_op_text_{400};  // JSON bytes of one op, as last measured
  std::atomic<bool> v2_push_{o_.changeset_format != 1};  // push batches in format v2
  // Last member: destroyed first, so its queued tasks finish while the rest is alive.
  sync_detail::HelperThread helper_;
};

SyncClient::SyncClient(Store& store, Transport& transport, std::string token)
    : store_(store), transport_(transport), token_(std::move(token)) {}

SyncReport SyncClient::sync(const SyncOptions& options) {
  Run run(*this, options);
  run.push();
  run.pull();
  if (run.take_regions_changed()) run.pull();  // the new regions, from the start
  if (run.resend_needed()) {
    // The server had lost changes it once acknowledged (restored from an older copy):
    // they are pending again; send them, then pull what they changed.
    run.push();
    run.pull();
  }
  run.mark_synced();
  SyncReport report = run.finish();
  // Records first, always: attachments go after, and never fail the records' sync.
  if (options.attachments) {
    report.attachments = upload_attachments(*options.attachments, transport_, token_, options);
  }
  return report;
}

SyncReport SyncClient::push(const SyncOptions& options) {
  Run run(*this, options);
  run.push();
  return run.finish();
}

SyncReport SyncClient::pull(const SyncOptions& options) {
  Run run(*this, options);
  run.pull();
  return run.finish();
}

SyncStatus SyncClient::status() const {
  const StoreStats s = store_.stats();
  SyncStatus out;
  out.pending_changes = s.pending_changes;
  out.oldest_pending_ms = s.oldest_pending_ms;
  out.last_sync_ms = s.last_sync_ms;
  out.open_conflicts = s.open_conflicts;
  out.refused_changes = s.refused_changes;
  return out;
}

}  // namespace lumbung
