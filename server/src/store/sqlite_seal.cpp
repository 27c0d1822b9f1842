// The upgrade of a server database from before sealing (sqlite_rows.h seal_database): every
// value store/sealer.h keeps sealed is read in clear and written back sealed, in one
// transaction, so a crash leaves either the old file or the sealed one.
#include <string>
#include <vector>

#include "store/sqlite_rows.h"

namespace lumbung::server::sqlite_detail {
namespace {

// Seals text column `column` of `table` (row id in `id_col`) where it is not sealed yet.
uint64_t seal_column(sql::Database& db, const Sealer& s, const std::string& table,
                     const std::string& id_col, const std::string& column) {
  std::vector<std::pair<std::string, std::string>> rows;  // (id, clear text)
  {
    auto& st = db.prepare("SELECT " + id_col + ", " + column + " FROM " + table);
    ResetOnExit r{st};
    while (st.step()) {
      const std::string_view v = st.column_view(1);
      if (!Sealer::is_sealed(v) && !v.empty() && v != "null") {
        rows.emplace_back(st.column_text(0), std::string(v));
      }
    }
  }
  const std::string where = table + "." + column;
  auto& up = db.prepare("UPDATE " + table + " SET " + column + "=?2 WHERE " + id_col + "=?1");
  for (const auto& [id, text] : rows) {
    up.bind(1, id).bind(2, s.seal_text(where, id, text)).run();
  }
  return rows.size();
}

}  // namespace

uint64_t seal_database(sql::Database& db, const Sealer& s, const std::string& key_id) {
  sql::Transaction txn(db);
  {
    auto& st = db.prepare("SELECT value FROM meta WHERE key='sealed'");
    ResetOnExit r{st};
    if (st.step()) return 0;
  }
  uint64_t n = 0;
  struct Rec {
    int64_t rowid;
    std::string col, id, doc;
    std::optional<std::string> nkey;
  };
  std::vector<Rec> recs;
  {
    auto& st = db.prepare("SELECT rowid, col, id, doc, nkey FROM records WHERE sealed IS NULL");
    ResetOnExit r{st};
    while (st.step()) {
      Rec rec{st.column_int(0), st.column_text(1), st.column_text(2), st.column_text(3), {}};
      if (!st.column_is_null(4)) rec.nkey = st.column_text(4);
      recs.push_back(std::move(rec));
    }
  }
  auto& up = db.prepare("UPDATE records SET doc=?2, sealed=?3, nkey=?4 WHERE rowid=?1");
  for (const Rec& rec : recs) {
    Sealer::Doc d = s.split_doc(rec.col, rec.id, rec.doc);
    up.bind(1, rec.rowid).bind(2, d.clear);
    if (d.sealed) {
      up.bind(3, *d.sealed);
    } else {
      up.bind_null(3);
    }
    if (rec.nkey) {
      up.bind(4, s.blind(rec.col, *rec.nkey));
    } else {
      up.bind_null(4);
    }
    up.run();
  }
  n += recs.size();
  // The oplog's row id is its position (text, as append_op binds it).
  n += seal_column(db, s, "oplog", "pos", "op");
  n += seal_column(db, s, "conflicts", "id", "body");
  n += seal_column(db, s, "conflicts", "id", "resolution");
  n += seal_column(db, s, "duplicates", "id", "resolution");
  n += seal_column(db, s, "refused", "id", "op");
  n += seal_column(db, s, "refused", "id", "message");
  n += seal_column(db, s, "refused", "id", "resolution");
  db.prepare("INSERT INTO meta(key,value) VALUES('sealed','1')").run();
  // Sealed data is lost without its key file: from this commit on the server refuses to
  // start without it (keys/server_keys.h).
  db.prepare("INSERT OR IGNORE INTO meta(key,value) VALUES('key_id',?1)").bind(1, key_id).run();
  txn.commit();
  return n;
}

}  // namespace lumbung::server::sqlite_detail
