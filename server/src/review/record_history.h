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
// Pages: an answer holds at most kHistoryMaxOps rows (the newest, or with `before` the
// newest below that log position); "cut" says older rows exist and "older" is the `before`
// that reads the page before it. To know the old values of a page's first changes, up to
// kHistoryLeadOps rows older than the page are replayed first without being shown (the
// lead-in). When the lead-in reaches the record's first row every old value is known;
// otherwise a field's value before the lead-in is unknown ("old_known": false on its first
// change, unless an op of the lead-in set it). So one request reads and replays at most
// kHistoryMaxOps + kHistoryLeadOps rows, however long the record's history.
//
// "by" on an op of device "server": the reviewer who decided it, from the review entry it
// resolves (a conflict's resolution or correction, a merge, a refused op applied) or, for a
// status move from the office page, from what the move wrote beside its op in the same
// transaction (meta "op_by.<hlc>.<record id>": record_op_author; the id too, so that two
// server processes on one database that gave ops on two records one hlc keep both).
#pragma once

#include <string>

#include "auth/principal.h"
#include "lumbung/schema.h"
#include "store/server_store.h"

namespace lumbung::server {

// Oplog rows of one record a history answer shows (one page).
constexpr size_t kHistoryMaxOps = 500;
// Older rows replayed before a page, not shown, so that its old values are known.
constexpr size_t kHistoryLeadOps = 1500;

// `before` query parameter: "" = the newest page (0); otherwise a log position (decimal,
// 1..2^63-1). Throws ProblemError(kInvalidArgument, reason "bad_before", field "before").
uint64_t parse_history_before(const std::string& text);

// Meta key under which a server op's author is kept (a status move from the page), and the
// write of it inside the op's transaction ({"role", "label"} of `who`).
std::string op_author_key(uint64_t hlc, const std::string& id);
void record_op_author(WriteTxn& txn, uint64_t hlc, const std::string& id, const Principal& who);

// {"id", "collection", "scope", "cut", "before", "older", "lead_ops", "from_start", "max_ops",
// "changes": [{"pos", "device", "label", "by", "seq", "hlc",
// "at_ms", "kind": "create"|"update"|"delete", "changed", "live_before", "live_after",
// "fields": [{"field", "old", "new", "old_known"}], "unchanged": [{"field", "value",
// "kept"}]}...]} in log order. Throws Error(kNotFound) if the record does not exist or lies
// outside the reader's regions (as GET /v1/records), kUnknownCollection for a bad
// collection. "by": the reviewer ({"role", "label"}) of a server op (above); null for a
// laptop's op and for a server op no review decision or page move wrote (region-move
// notices, a status move written before its author was kept). `before` 0: the newest page.
// "older": the `before` of the previous page (null when none); "lead_ops": rows replayed
// before the page; "from_start": the replay began at the record's first row.
Json record_history(const Schema& schema, ServerStore& store, const Principal& who,
                    const std::string& collection, const std::string& id, uint64_t before = 0);

}  // namespace lumbung::server
