// The review queues of the central office: conflicts the merge kept, and duplicate
// enrolments (two live records with one natural key). Every decision is written as a new
// op by the server's own device ("server"), applied with the same merge and appended to
// the oplog, so it reaches every device on its next pull. Entries are never deleted: a
// resolved entry keeps who decided, when, and what.
//
// Called by the router on listener threads; thread-safe (one write transaction per call).
#pragma once

#include <string>

#include "auth/principal.h"
#include "lumbung/schema.h"
#include "review/refused_queue.h"
#include "store/server_store.h"
#include "sync/sync_service.h"

namespace lumbung::server {

class ReviewService {
 public:
  ReviewService(ServerStore& store, SyncService& sync, Metrics& metrics)
      : store_(store), sync_(sync), metrics_(metrics), refused_(store, sync) {}

  // The refused queue (ops acknowledged but not applied).
  RefusedQueue& refused() { return refused_; }

  // {"conflicts":[...], "next", "total"}: the reader's regions only (reader_scope.h);
  // status "open" | "resolved" | "all"; `after` = the previous page's next; limit 0 = 1,000.
  Json list_conflicts(const Principal& who, const std::string& status, const std::string& after,
                      size_t limit);
  // body {"keep":"winner"|"loser"} or {"value": <json>}. Returns the resolved entry and the
  // op written. Throws kNotFound, kAlreadyExists (already resolved), kInvalidArgument,
  // kValidationFailed.
  Json resolve_conflict(const std::string& id, const Json& body, const Principal& who);
  // A new decision for a resolved entry (review_correct.cpp): body as resolve plus
  // "replaces": <the entry's latest decision number> and optional "note". A new server op
  // whose base is what the replaced decision wrote, so a later officer's write opens an
  // entry instead of being overwritten. The resolution becomes the new decision with
  // "decision", "corrects", "corrected", "note" and "history" (the earlier decisions).
  // Throws kNotFound, kInvalidArgument (reason not_decided / bad_replaces),
  // kAlreadyExists (reason stale_decision), kValidationFailed, kStatusRegression.
  Json correct_conflict(const std::string& id, const Json& body, const Principal& who);

  // {"duplicates":[...], "next", "total"} with both records' current values (a record
  // outside the reader's regions only as {"id", "outside_your_regions": true}) and
  // "cross_region" when the two lie in different regions.
  Json list_duplicates(const Principal& who, const std::string& status, const std::string& after,
                       size_t limit);
  // body {"survivor":"<record id>"}: fills the survivor's empty fields from the other
  // record, marks the other merged_into the survivor (if the schema has that field) and
  // deletes it. Optional "take": ["<field>", ...]: fields whose value the reviewer chose
  // from the other record, written over the survivor's (the office page's per-field choice).
  Json merge_duplicate(const std::string& id, const Json& body, const Principal& who);
  // A merge corrected (review_correct.cpp): body {"survivor": "<the record the earlier
  // merge deleted>", "replaces": N, "note"?}. That record comes back (its values written
  // again over the merge's delete, merged_into cleared), takes the other's empty fields,
  // and the other is pointed at it and deleted with the earlier decision as its base.
  // Errors as correct_conflict, plus reason same_decision (the survivor already survives).
  Json correct_duplicate(const std::string& id, const Json& body, const Principal& who);

  // Reads for the central office (reviewer role).
  // {"records":[record_json...],"next":"<id>"|""}: records of `collection` (deleted ones
  // flagged) with id > after, scope prefix filter; limit capped at kMaxQueryPageSize.
  Json records(const Principal& who, const std::string& collection, const std::string& scope,
               const std::string& after, size_t limit);
  // Live record counts per status and per program, overall and per region level.
  Json progress(const Principal& who, const std::string& collection, const std::string& scope);

 private:
  ServerStore& store_;
  SyncService& sync_;
  Metrics& metrics_;
  RefusedQueue refused_;
};

// JSON of a record for the review and records APIs:
// {"id","fields":{live values},"versions":{field:[hlc,dev]},"deleted":bool,"tombstone":[..]|null}
Json record_json(const std::string& id, const RecordState& st);

}  // namespace lumbung::server
