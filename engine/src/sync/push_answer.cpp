#include "sync/push_answer.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "sync/request_loop.h"

namespace lumbung::sync_detail {
namespace {

// What the server did with some ops of a push batch other than applying them as sent:
// refused them (kept in its refused queue; recorded here for the officer) or stored some
// values in normal form (taken over under the same version).
uint64_t apply_outcomes(Store& store, const Json& ack, uint64_t first, uint64_t last) {
  std::vector<RefusedChange> refused;
  uint64_t refused_count = 0;
  if (auto it = ack.find("refused"); it != ack.end() && it->is_array()) {
    std::map<uint64_t, const WireChange*> by_seq;
    for (const auto& r : *it) {
      RefusedChange rc;
      rc.seq = r.at("seq").get<uint64_t>();
      if (rc.seq < first || rc.seq > last) continue;  // not of this batch: ignore
      rc.code = r.value("code", "");
      rc.field = r.value("field", "");
      rc.message = r.value("message", "");
      if (auto h = r.find("held"); h != r.end() && h->is_object()) rc.held = *h;
      rc.at_ms = store.clock().physical_now_ms();
      refused.push_back(std::move(rc));
    }
  }
  if (!refused.empty()) {
    // The record each refused change was about, from the log.
    for (const PendingChange& p : store.pending_changes(last - first + 1, first - 1)) {
      for (RefusedChange& rc : refused) {
        if (rc.seq == p.op.seq) {
          rc.collection = p.op.collection;
          rc.record_id = p.op.id;
        }
      }
    }
    store.record_refused(refused);
    refused_count = refused.size();
  }
  if (auto it = ack.find("stored"); it != ack.end() && it->is_array() && !it->empty()) {
    std::vector<std::pair<uint64_t, Json>> stored;
    for (const auto& s : *it) stored.emplace_back(s.at("seq").get<uint64_t>(), s.at("set"));
    store.apply_stored(stored);
  }
  return refused_count;
}

}  // namespace

AnswerTaken take_push_answer(Store& store, const Json& ack, uint64_t first, uint64_t last,
                             int64_t rtt_ms) {
  AnswerTaken t;
  const uint64_t acked = ack.at("acked_seq").get<uint64_t>();
  std::vector<std::pair<uint64_t, uint64_t>> restamps;
  if (auto it = ack.find("restamped"); it != ack.end() && it->is_array()) {
    for (const auto& r : *it) {
      restamps.emplace_back(r.at("seq").get<uint64_t>(), r.at("hlc").get<uint64_t>());
    }
  }
  // Learn the server's time first: that may pull a far-future clock back to now, and the
  // re-stamped versions observed after it then stay below every version issued next
  // (in the other order the reset forgot them and the device issued a re-stamped
  // version again as its own next one: soak seed 53097).
  correct_clock(store, ack, rtt_ms);
  store.apply_restamps(restamps);
  t.restamped = restamps.size();
  t.refused = apply_outcomes(store, ack, first, last);
  // Changes sent again after a rewind may hold refusals of a lost history.
  std::vector<uint64_t> repeated;
  if (auto it = ack.find("refused"); it != ack.end() && it->is_array()) {
    for (const auto& r : *it) repeated.push_back(r.at("seq").get<uint64_t>());
  }
  store.settle_refusals(first, std::min<uint64_t>(acked, last), repeated);
  t.acknowledged = store.acknowledge(std::min<uint64_t>(acked, last));
  return t;
}

}  // namespace lumbung::sync_detail
