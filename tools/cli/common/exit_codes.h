// Exit codes of `lumbung` and `lumbung-admin`, one table for both (documented in
// `lumbung help` and docs/CLI.md). Scripts match on these numbers; keep them stable.
#pragma once

#include "lumbung/error.h"

namespace lumbung::cli {

enum ExitCode : int {
  kExitOk = 0,           // done
  kExitError = 1,        // anything else: storage, corrupt data, a bug
  kExitUsage = 2,        // wrong command line
  kExitRefused = 3,      // input refused by the schema or outside the laptop's regions (enrol,
                         // edit, import-csv: some row refused; refused apply: still invalid)
  kExitNotFound = 4,     // the record, conflict, duplicate or device does not exist
  kExitNetwork = 5,      // the server could not be reached (after retries)
  kExitAuth = 6,         // the server refused the credential or the scope (revoked, wrong role)
  kExitCancelled = 130,  // Ctrl-C, or input ended before a guided entry was complete
};

// The exit code for an engine/server error code.
int exit_code_for(ErrorCode code) noexcept;

}  // namespace lumbung::cli
