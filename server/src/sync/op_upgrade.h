// Schema versions on the server: the versions it has served (kept in the store's meta, so
// SQLite and PostgreSQL alike), publication of a new one, and the upgrade of pushed ops
// written under an older version (lumbung/schema_versions.h has the format).
//
// Meta keys: "schema.v<N>" = the document of version N as published; "schema.active" = the
// version the stored records are written in. A version published through a running server
// (LiveSchema::publish) is active at once: its records move in the publishing transaction
// while no request runs. One written into the database otherwise (a start with the next
// file) is made active at start.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lumbung/schema_versions.h"
#include "store/server_store.h"
#include "sync/op_writer.h"

namespace lumbung::server {

struct SchemaStart {
  std::unique_ptr<SchemaHistory> history;
  std::string note;  // what start did (published the file, migrated N records), for the log
};

// At start: reconciles the --schema file with the versions in the store; the newest is
// the history's current. Empty store: the file is stored as its version. File newer by one
// than the newest stored: checked as its successor and stored (deploying a new file
// publishes it). File older: the stored newest is used. Same version, other content, or
// more than one newer: Error(kSchemaInvalid), the server does not start.
SchemaStart open_schema_versions(ServerStore& store, const Json& file_document);

// Then, once the store can read and seal personal data (seal_personal_data): if the
// records are written in an older version than the history's current ("schema.active"),
// renames and retires their fields in one write transaction and makes the current version
// active. Returns a note for the log ("" when nothing moved).
std::string activate_schema_version(ServerStore& store, const SchemaHistory& h);

// The schema versions of a running server, switched at once by a publication (issue 18).
// Every request runs inside a Share (Router::handle), so the history it reads does not
// change under it; publish() waits for the running ones, holds new ones back (a
// publication is not starved by steady traffic), moves the records, switches, lets them
// go. Services read the active version through SyncService::schema(), which the switch hook
// sets. Thread-safe. Every history served stays alive until the LiveSchema goes.
class LiveSchema {
 public:
  LiveSchema(ServerStore& store, std::unique_ptr<SchemaHistory> start);

  class Share {
   public:
    Share() = default;
    explicit Share(LiveSchema* l) : l_(l) {}
    Share(Share&& o) noexcept : l_(o.l_) { o.l_ = nullptr; }
    Share& operator=(Share&&) = delete;
    ~Share() {
      if (l_) l_->leave();
    }

   private:
    LiveSchema* l_ = nullptr;
  };
  Share enter();

  // The active history (valid while a Share is held, or on the thread that set it up).
  const SchemaHistory& history() const;

  // Run by publish() while no request runs, in the order added. `before_move`: before the
  // records move (the store learns the new personal fields, so a renamed one stays sealed);
  // `after_move`: once they moved (services take the new history).
  void on_publish(std::function<void(const SchemaHistory&)> before_move,
                  std::function<void(const SchemaHistory&)> after_move);

  // Publishes `document` as the next version and makes it active: checked as a valid
  // successor of the newest stored one (Error(kSchemaInvalid) naming every problem), then
  // in one write transaction stored, the records moved to it and "schema.active" set; then
  // the services switch. Returns {"version", "active_version", "active": true, "records_moved",
  // "message"}. Error(kAlreadyExists) if that version was stored meanwhile. On any error
  // nothing changed and the old version stays active. Never call it inside a Share.
  Json publish(const Json& document);

  // Another server process on the same database made a newer version active (its
  // publication moved the records): switches this process to it as publish() does, without
  // moving anything. Returns whether it switched. `wait` false: returns at once if this
  // process is publishing. Never call it inside a Share.
  bool catch_up(bool wait);
  // catch_up(false) at most once per kCatchUpEveryMs, before a request enters: reads see a
  // publication made through another process within that time; writes see it at once
  // (OpWriter::check_schema).
  void catch_up_if_due();
  static constexpr int64_t kCatchUpEveryMs = 1000;

  // The newest schema version `device` has pushed ops under (their "sv"; absent = 1). Kept
  // in the store's meta ("schema.devices", device_versions below) when it rises, so a device
  // that has not pushed since a publication is seen on its older version.
  void note_device_version(const std::string& device, int version);

 private:
  void leave();
  // Holds requests back, runs the hooks and `move` (if any) and makes `next` active.
  void switch_to(std::unique_ptr<SchemaHistory> next,
                 const std::function<void(const SchemaHistory&)>& move);

  ServerStore& store_;
  std::mutex publish_mu_;  // one publication at a time
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0;         // requests inside a Share
  bool switching_ = false;  // a publication waits for them or moves the records
  std::vector<std::unique_ptr<SchemaHistory>> served_;  // the last is active
  std::atomic<int64_t> last_check_ms_{0};               // catch_up_if_due
  std::mutex devices_mu_;
  std::map<std::string, int> devices_;  // what the meta holds (note_device_version)
  std::vector<std::pair<std::function<void(const SchemaHistory&)>,
                        std::function<void(const SchemaHistory&)>>>
      hooks_;
};

// device id -> the newest schema version it pushed ops under (LiveSchema::
// note_device_version); a device that never pushed is absent.
std::map<std::string, int> device_versions(ServerStore& store);
// [{"device_id", "schema_version"}] of the devices whose version is below `active`, by id.
Json devices_on_older_versions(ServerStore& store, int active);

// The newest version stored (published, perhaps not active yet), and its document.
int newest_schema_version(ServerStore& store);
Json newest_schema_document(ServerStore& store);

// Publishes `document` as the next version: a valid successor of the newest stored one
// (check_successor), stored with the versions before it. Returns
// {"version", "active_version", "active": false, "message"}. Throws Error(kSchemaInvalid)
// naming every problem, and changes nothing then.
Json publish_schema(ServerStore& store, const Json& document, int active_version);

// Push: rewrites an op written under an older version into the active one (renames,
// retired values into op.retired, add_field defaults for creates). Returns the refusal
// (rule "unknown_schema_version", kept in the refused queue) when the op names a version
// newer than this server's.
std::optional<Refusal> upgrade_pushed_op(const SchemaHistory& h, Op& op);

// Pull: an op of the log written under an older version (its text without "sv", or an
// older "sv"), as the active version names things: set and base renamed, retired values
// moved to "ret", a "rec" notice's fields renamed (retired ones dropped). The log keeps ops
// as written; every device reads them in the active version. Text of the active version
// comes back unchanged.
std::string upgrade_log_text(const SchemaHistory& h, const std::string& op_text);

// An upgraded op that the active version refuses: if its values were valid under the
// version it was written under, `why` gets rule "newer_schema_rule" and a message that
// starts with it and names the changelog step (e.g. "tighten_rule enrolment.phone in
// version 2"), so the device and the reviewer (refused queue) see honest work refused by a
// newer rule.
void explain_newer_rule(const SchemaHistory& h, const std::string& collection,
                        const Json& original_set, bool partial, int written_version, Refusal& why);

}  // namespace lumbung::server
