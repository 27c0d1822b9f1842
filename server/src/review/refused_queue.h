// The refused queue of the central office: ops the server acknowledged but did not apply
// (out of the device's regions, invalid as a record, an edit of a record whose creation was
// refused). Each keeps the op as pushed, the device, the reason and when. A reviewer can
// list them, apply one (optionally correcting fields) - which writes a new server op with
// the officer's values and the officer's base, so a write the officer had not seen still
// opens a conflict entry - or dismiss it. Entries are never deleted.
//
// Called by the router on listener threads; thread-safe (one write transaction per call).
#pragma once

#include <string>

#include "auth/principal.h"
#include "store/server_store.h"
#include "sync/sync_service.h"

namespace lumbung::server {

// Drafts a device may send in one POST /v1/drafts, and entries one device may hold open in
// the queue before it sends more (a laptop keeps at most 500 drafts: cli/lumbung/drafts.h).
constexpr size_t kMaxDraftsPerRequest = 100;
constexpr uint64_t kMaxHeldDraftsPerDevice = 500;

class RefusedQueue {
 public:
  RefusedQueue(ServerStore& store, SyncService& sync) : store_(store), sync_(sync) {}

  // {"refused":[entry...], "next", "total"}: the reader's regions only; status
  // open|applied|dismissed|all; device "" = all; after = the previous page's next; limit
  // capped at kMaxQueryPageSize.
  Json list(const Principal& who, const std::string& status, const std::string& device,
            const std::string& after, size_t limit);

  // body {} or {"set": {field: value}} (corrections, merged over the op's own values).
  // An entry outside the reader's regions (where the op would put the record, where the
  // record is now, where the corrections put it) is kNotFound.
  // Throws kNotFound, kAlreadyExists (not open), kValidationFailed / kUnknownField (the
  // corrected op is still not a valid record: nothing changes), kInvalidArgument.
  Json apply(const std::string& id, const Json& body, const Principal& who);

  // body {} or {"note": "<why>"}. Throws kNotFound, kAlreadyExists, kInvalidArgument.
  Json dismiss(const std::string& id, const Json& body, const Principal& who);

  // POST /v1/drafts from a device (held_drafts.cpp; docs/PROTOCOL.md "Drafts kept for
  // review"): body {"drafts": [item...]}, each item {"draft": "D<n>", "rev": n} and either
  // "record_id", "collection", "fields", "note" (a draft sent whole: kept as entry
  // "<device>:D<n>.<rev>", code held_for_review, if its only failed checks are the KTP's own
  // NIK mismatches, its village is in the device's regions and the record id is new), or
  // nothing more (asks the entry's state), or "withdraw": true (dismisses the open entry:
  // the officer completed or deleted the draft). Answers {"drafts": [{"draft", "rev",
  // "id", "status": open|applied|dismissed|withdrawn|unknown, "note"?, "at_ms"?, "by"?} or
  // {..., "error": {"code", "message", "field"?}}]} in the items' order; an item's error
  // changes nothing. Idempotent: a draft sent again finds its entry. Throws
  // kInvalidArgument for a malformed body (nothing changes).
  Json hold_drafts(const Principal& who, const Json& body);

  // A new decision for a decided entry (review_correct.cpp): body {"replaces": <latest
  // decision number>, "set"?: {...}, "note"?: "..."}. A dismissed entry is applied as
  // apply() would; an applied one takes new values ("set" required) written with the
  // applied op's version as base. Errors as ReviewService::correct_conflict.
  Json correct(const std::string& id, const Json& body, const Principal& who);

 private:
  ServerStore& store_;
  SyncService& sync_;
};

// Throws Error(kAlreadyExists) when entry `row` is a held draft (held_drafts.cpp) that can
// no longer be applied: its officer withdrew it, or its record exists (the officer saved
// the person as a record after all). Called by apply() and correct().
void check_held_draft_applicable(WriteTxn& txn, const RefusedRow& row);

// JSON of one refused entry for the review API.
Json refused_json(const RefusedRow& r);

}  // namespace lumbung::server
