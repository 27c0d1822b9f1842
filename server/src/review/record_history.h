// A record's history for the review API and the office page (GET /v1/records/{id}/history,
// docs/PROTOCOL.md): who changed what, from which laptop, when, old -> new.
//
// The record's oplog rows (ServerStore::record_log, the newest kHistoryMaxOps) are replayed
// in log order through the engine's merge (lumbung/merge.h apply_op) from an empty state,
// so each op shows what it really did to the record: the fields whose value it changed
// (old -> new), and the fields it set but lost to a newer write ("no change"). A delete
// shows whether it deleted the record, an edit whether it revived it. Rows that are not
// changes of the record are skipped: notices for one laptop (scope "@<device>": late
// refusals) and region-move notices (the whole record sent to the new region, "gone" to
// the old: the op that moved it is shown with its village_code old -> new).
//
// When the record has more rows than kHistoryMaxOps, the answer says "cut": the replay
// starts from an empty state at the oldest row it read, so a field's value before that row
// is unknown ("old_known": false on its first change).
#pragma once

#include <string>

#include "auth/principal.h"
#include "lumbung/schema.h"
#include "store/server_store.h"

namespace lumbung::server {

// Newest oplog rows of one record a history answer replays.
constexpr size_t kHistoryMaxOps = 500;

// {"id", "collection", "scope", "cut", "changes": [{"pos", "device", "label", "by", "seq", "hlc",
// "at_ms", "kind": "create"|"update"|"delete", "changed", "live_before", "live_after",
// "fields": [{"field", "old", "new", "old_known"}], "unchanged": [{"field", "value",
// "kept"}]}...]} in log order. Throws Error(kNotFound) if the record does not exist or lies
// outside the reader's regions (as GET /v1/records), kUnknownCollection for a bad
// collection. "by": for an op of device "server" that decided a review entry of the record
// (a conflict's resolution or correction, a merge, a refused op applied), the reviewer
// ({"role", "label"}) from that entry's resolution; null otherwise (a status move from the
// page is in the audit log only).
Json record_history(const Schema& schema, ServerStore& store, const Principal& who,
                    const std::string& collection, const std::string& id);

}  // namespace lumbung::server
