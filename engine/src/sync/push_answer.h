// Taking a push answer in (docs/PROTOCOL.md "POST /v1/push"): the answer of a push batch,
// of a streamed push, or of a push state after a cut (push_stream_send.h) - they have one
// shape.
#pragma once

#include <cstdint>

#include "lumbung/store.h"

namespace lumbung::sync_detail {

struct AnswerTaken {
  uint64_t acknowledged = 0;  // ops newly acknowledged
  uint64_t restamped = 0;
  uint64_t refused = 0;
};

// For the ops first..last: the server's time learnt (`rtt_ms` the round trip, 0 unknown),
// then its re-stamps applied, its refusals recorded (Store::record_refused) and the values
// it stored in normal form taken over, refusals kept from before that it does not repeat
// dropped (Store::settle_refusals: ops sent again after a rewind), and the ops up to its
// acked_seq (at most `last`) acknowledged. Members about other seqs are ignored.
AnswerTaken take_push_answer(Store& store, const Json& ack, uint64_t first, uint64_t last,
                             int64_t rtt_ms);

}  // namespace lumbung::sync_detail
