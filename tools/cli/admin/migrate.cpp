// `lumbung-admin migrate --data DIR --db postgresql://...` (issue 13): moves a stopped SQLite
// lumbung-server's database into an empty PostgreSQL database, so that the office's servers
// run with --db from then on and the laptops keep syncing without a reset. Unlike every other
// command it talks to no server: it opens both databases directly (the copy and its checks
// are server/src/store/migrate_sqlite_to_pg.h). --data and --db are lumbung-server's own
// options for the two databases.
#include <sys/stat.h>

#include <cstdio>

#include "admin.h"
#include "common/exit_codes.h"
#include "common/i18n.h"
#include "common/output.h"
#include "lumbung/error.h"
#include "store/migrate_sqlite_to_pg.h"

namespace lumbung::cli::admin {

int migrate(Admin& a, Args& args) {
  using server::MigrationResult;
  const auto data = args.value("data");
  const auto db = args.value("db");
  // The SQLite server's --attachments, if it had its own (default DIR/attachments).
  const auto attachments = args.value("attachments");
  args.finish();
  if (!data || !db || data->empty() ||
      (db->rfind("postgresql://", 0) != 0 && db->rfind("postgres://", 0) != 0)) {
    throw Error(ErrorCode::kInvalidArgument, tr("admin.migrate_usage"));
  }
  std::string dir = *data;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  struct stat st {};
  if (::stat((dir + "/lumbung-server.db").c_str(), &st) != 0) {
    throw Error(ErrorCode::kInvalidArgument, tr("admin.migrate_no_db", {{"dir", printable(dir)}}));
  }
  const MigrationResult r = server::migrate_sqlite_to_pg(
      dir, *db,
      [&a](const MigrationResult::Table& t) {
        if (!a.json) {
          *a.out << tr("admin.migrate_table",
                       {{"table", t.name}, {"n", group_number(static_cast<int64_t>(t.rows))}})
                 << "\n"
                 << std::flush;
        }
      },
      attachments.value_or(""));
  const char* refusal = nullptr;
  switch (r.outcome) {
    case MigrationResult::Outcome::kDone:
      break;
    case MigrationResult::Outcome::kSourceInUse:
      refusal = "admin.migrate_in_use";
      break;
    case MigrationResult::Outcome::kSourceMismatch:
      refusal = "admin.migrate_source_mismatch";
      break;
    case MigrationResult::Outcome::kTargetNotEmpty:
      refusal = "admin.migrate_not_empty";
      break;
  }
  if (refusal) {
    // Refused before anything was written: a stable exit code for scripts.
    *a.err << "lumbung-admin: "
           << tr(refusal, {{"path", printable(r.detail)}, {"detail", printable(r.detail)}}) << "\n";
    return kExitRefused;
  }
  // The SQLite server's key file by default sits beside its data directory
  // (keys/server_keys.h default_path); the PostgreSQL servers need that same file.
  const std::string key_file = dir + ".key";
  if (a.json) {
    Json tables = Json::object();
    for (const auto& t : r.tables) tables[t.name] = t.rows;
    print_json(*a.out, Json{{"migrated", true},
                            {"tables", tables},
                            {"max_pos", r.max_pos},
                            {"devices_checked", r.devices_checked},
                            {"epoch", r.new_epoch},
                            {"epoch_start", r.new_epoch_start},
                            {"key_id", r.key_id},
                            {"source_marked", r.source_marked},
                            {"attachments", r.attachments},
                            {"attachment_bytes", r.attachment_bytes},
                            {"seconds", r.seconds}});
    return kExitOk;
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f", r.seconds);
  *a.out << tr("admin.migrate_done", {{"seconds", seconds},
                                      {"max_pos", std::to_string(r.max_pos)},
                                      {"devices", std::to_string(r.devices_checked)}})
         << "\n"
         << tr("admin.migrate_epoch",
               {{"epoch", r.new_epoch}, {"start", std::to_string(r.new_epoch_start)}})
         << "\n"
         << tr("admin.migrate_next",
               {{"key_file", printable(key_file)},
                {"key_id", r.key_id.empty() ? "-" : r.key_id},
                {"attachments",
                 r.attachments > 0
                     ? tr("admin.migrate_attachments",
                          {{"n", group_number(static_cast<int64_t>(r.attachments))},
                           {"bytes", group_number(static_cast<int64_t>(r.attachment_bytes))}})
                     : std::string()},
                {"dir", printable(dir)}})
         << "\n";
  return kExitOk;
}

}  // namespace lumbung::cli::admin
