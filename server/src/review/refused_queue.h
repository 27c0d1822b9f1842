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

  // A new decision for a decided entry (review_correct.cpp): body {"replaces": <latest
  // decision number>, "set"?: {...}, "note"?: "..."}. A dismissed entry is applied as
  // apply() would; an applied one takes new values ("set" required) written with the
  // applied op's version as base. Errors as ReviewService::correct_conflict.
  Json correct(const std::string& id, const Json& body, const Principal& who);

 private:
  ServerStore& store_;
  SyncService& sync_;
};

// JSON of one refused entry for the review API.
Json refused_json(const RefusedRow& r);

}  // namespace lumbung::server
