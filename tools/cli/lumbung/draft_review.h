// Drafts kept for review reach the central office (issue 15 item 2): at the end of each
// `lumbung sync`, every draft kept for review (a KTP whose NIK contradicts its birth date or
// gender, with the officer's note) is sent to POST /v1/drafts, where the office reviews it
// in its refused queue (code held_for_review); the drafts the office holds are asked about,
// and those completed or deleted on the laptop meanwhile are withdrawn. The office applies
// one (corrected: it becomes a record every laptop of the region pulls, and the draft goes)
// or dismisses it (the draft stays, with the reviewer's note, for the officer to resume or
// delete). The draft is kept on the laptop until the office has applied it: nothing is lost
// when a request fails (tried again at the next sync).
#pragma once

#include <string>

#include "commands.h"
#include "laptop.h"
#include "lumbung/sync.h"

namespace lumbung::cli {

// Sends, asks and withdraws as above, telling the officer (ctx.out) what the office did.
// Returns {"sent", "applied", "dismissed", "not_taken", "withdrawn", "error"?} for
// `sync --json`. Never throws for the link or the server (a failure is told and returned
// as "error": the sync itself succeeded); makes no request when there is nothing to send.
Json exchange_review_drafts(Context& ctx, Laptop& lap, const std::string& url,
                            const HttpTransportOptions& options);

}  // namespace lumbung::cli
