// The commands of `lumbung`, one function each (main.cpp dispatches). Each returns an exit
// code (common/exit_codes.h) or throws lumbung::Error, which main maps to one.
#pragma once

#include <atomic>
#include <iosfwd>
#include <memory>
#include <string>

#include "common/args.h"
#include "lumbung/attachments.h"
#include "lumbung/error.h"

namespace lumbung::cli {

struct Context {
  std::string home;    // the laptop's state directory
  std::string server;  // --server override ("" = from config)
  bool json = false;   // --json: machine output on read commands
  std::istream* in;    // answers to prompts (stdin)
  std::ostream* out;   // results
  std::ostream* err;   // messages, warnings, progress
};

// Ctrl-C (SIGINT) or SIGTERM while a long call runs (cmd_sync.cpp): the first sets flag(),
// which the engine polls (SyncOptions::cancel; it also stops the request on its way), a
// second ends the process at once. The previous handlers come back when it goes. One at a
// time.
class Interrupts {
 public:
  Interrupts();
  ~Interrupts();
  const std::atomic<bool>* flag() const;

 private:
  struct Saved;
  std::unique_ptr<Saved> saved_;
};

int cmd_init(Context& ctx, Args& args);
int cmd_config(Context& ctx, Args& args);
int cmd_enrol(Context& ctx, Args& args);
int cmd_drafts(Context& ctx, Args& args);  // cmd_drafts.cpp
int cmd_list(Context& ctx, Args& args);
int cmd_search(Context& ctx, Args& args);
int cmd_show(Context& ctx, Args& args);
int cmd_edit(Context& ctx, Args& args);
int cmd_delete(Context& ctx, Args& args);
int cmd_import_csv(Context& ctx, Args& args);
int cmd_export_csv(Context& ctx, Args& args);
int cmd_status(Context& ctx, Args& args);
int cmd_conflicts(Context& ctx, Args& args);
int cmd_refused(Context& ctx, Args& args);
int cmd_sync(Context& ctx, Args& args);
int cmd_token(Context& ctx, Args& args);
int cmd_attach(Context& ctx, Args& args);  // cmd_attach.cpp
int cmd_open(Context& ctx, Args& args);    // cmd_attach.cpp

// Attachments (cmd_attach.cpp): the laptop's attachment file; the lines `show` prints for a
// record's attachments (state: waiting, sending x%, on the server); `sync`'s progress and
// summary lines and its --json member.
class Laptop;
std::unique_ptr<AttachmentStore> open_attachments(Laptop& lap);
void print_attachments(Context& ctx, Laptop& lap, const Record& r);
void attachment_progress(Context& ctx, const AttachmentProgress& p);
// `att` (may be null) gives each failure's stable code: a full quota is said in words.
void report_attachments(Context& ctx, const AttachmentSyncReport& r, const AttachmentStore* att);
Json attachments_json(const AttachmentSyncReport& r, const AttachmentStore* att = nullptr);

// cmd_init.cpp: how the laptop trusts the office's server (common/trust.h).
class Laptop;
// Says in words what a failed registration with `server` means and what to do (a refused
// certificate as such, never as "no signal").
void explain_register_error(Context& ctx, const Error& e, const std::string& server);
// With a key pin and no CA file, fetches the certificate `url` presents and keeps it as
// the laptop's CA file if its key matches the pin (only the office's own, self-signed one:
// a public CA's is checked against the system's store). Returns true if it kept one.
// Throws Error(kTransport) "TLS: pin mismatch: ..." for another key, or when unreachable.
bool ensure_office_certificate(Laptop& lap, const std::string& url, std::ostream& out,
                               int timeout_ms);
// ensure_office_certificate before a sync: a refusal is explained (exit 6 returned); an
// unreachable server is left to the sync's own retries (0 returned).
int office_trust_or_explain(Context& ctx, Laptop& lap, const std::string& url);

// Reads one answer line from ctx.in; false at end of input.
bool read_answer(Context& ctx, std::string& line);
// Asks a yes/no question; `default_yes` is the answer to a bare Enter. End of input = no.
bool confirm(Context& ctx, const std::string& question, bool default_yes);

}  // namespace lumbung::cli
