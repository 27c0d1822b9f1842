// Private to server/src/review: the one builder of the op that decides a conflict entry,
// used by a first resolution (review_service.cpp, POST /v1/conflicts/{id}/resolve) and by a
// correction (review_correct.cpp, .../correct). The two differ only in what the reviewer
// saw, which becomes the op's base (merge.h: a write the base does not cover is "unseen" and
// opens an entry instead of being overwritten or buried silently).
#pragma once

#include <initializer_list>
#include <string>

#include "lumbung/merge.h"
#include "lumbung/schema.h"

namespace lumbung::server {

// The reviewer's choice for an entry: keep one side ("winner" | "loser"), or (one-field
// entries only) a value of their own.
struct ConflictChoice {
  std::string keep;  // "" when `value` was given
  Json value;
};

// Reads {"keep": "winner"|"loser"} or {"value": <json>} from a request body; members in
// `also_allowed` are the caller's own (a correction's "replaces", "note"). Throws
// kInvalidArgument.
ConflictChoice read_choice(const Json& body, std::initializer_list<const char*> also_allowed);

// What the reviewer saw when deciding.
struct Sight {
  // Empty: a first resolution, whose reviewer saw the entry (the versions it showed).
  // Otherwise a correction's: the version the replaced decision wrote.
  Version decision;

  static Sight entry() { return Sight{}; }
  static Sight of_decision(const Version& v) { return Sight{v}; }
  bool is_entry() const { return decision.empty(); }
};

// Fills `op` (a new server op of the entry's record: collection, id, version already set)
// with the decision on `c`: its set (or delete) and its base as `sight` says. `st` is the
// record as it is now. Returns the decision's "value": the value chosen, "deleted" or
// "kept". Throws kInvalidArgument, kValidationFailed / kUnknownField, kStatusRegression.
Json build_decision(Op& op, const Conflict& c, const CollectionSchema& cs, const RecordState& st,
                    const ConflictChoice& choice, const Sight& sight);

// A validation issue as the review API's problem (kUnknownField or kValidationFailed).
[[noreturn]] void throw_issue(const ValidationIssue& first, const std::string& prefix = {});

}  // namespace lumbung::server
