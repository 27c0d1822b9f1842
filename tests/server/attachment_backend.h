// What the server's attachment tests look at beneath the API, on either backend: the
// files under <data>/attachments (SQLite), or the rows of the tables `attachments` and
// `attachment_chunks` (PostgreSQL, test_postgres(): the fixture's database, read over
// libpq). Header-only; needs server/server_fixture.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <libpq-fe.h>

#include "server/server_fixture.h"
#include "support/test_backend.h"

namespace lumbung::test {

// One statement on the fixture's database; its rows as text. Throws on any error.
inline std::vector<std::vector<std::string>> pg_query(const std::string& url,
                                                      const std::string& sql,
                                                      const std::vector<std::string>& params) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    const std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("pg connect: " + msg);
  }
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* r = PQexecParams(c, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  const ExecStatusType st = PQresultStatus(r);
  std::vector<std::vector<std::string>> out;
  std::string err;
  if (st == PGRES_TUPLES_OK) {
    for (int i = 0; i < PQntuples(r); ++i) {
      out.emplace_back();
      for (int k = 0; k < PQnfields(r); ++k) out.back().push_back(PQgetvalue(r, i, k));
    }
  } else if (st != PGRES_COMMAND_OK) {
    err = PQresultErrorMessage(r);
  }
  PQclear(r);
  PQfinish(c);
  if (!err.empty()) throw std::runtime_error("pg: " + err);
  return out;
}

// What the server holds of `sha`, as the file store names it: {".meta", ".part"} while
// uploading, {".blob", ".meta"} once complete, {} when nothing (PostgreSQL: the same names
// for its row, complete or not).
inline std::set<std::string> files_of(ServerFixture& f, const std::string& sha) {
  std::set<std::string> out;
  if (test_postgres()) {
    auto rows =
        pg_query(f.db_url(), "SELECT complete::int FROM attachments WHERE sha256=$1", {sha});
    if (!rows.empty()) {
      if (rows[0][0] == "1") {
        out = {".blob", ".meta"};
      } else {
        out = {".meta", ".part"};
      }
    }
    return out;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(f.data_dir() + "/attachments", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(sha, 0) == 0) out.insert(name.substr(sha.size()));
  }
  return out;
}

inline std::string read_whole(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Moves the start of `sha`'s upload `ms` into the past (as if it began then).
inline void age_upload_start(ServerFixture& f, const std::string& sha, int64_t ms) {
  if (test_postgres()) {
    pg_query(f.db_url(), "UPDATE attachments SET started_ms = started_ms - $2 WHERE sha256=$1",
             {sha, std::to_string(ms)});
    return;
  }
  const std::string meta_path = f.data_dir() + "/attachments/" + sha + ".meta";
  json meta = json::parse(read_whole(meta_path));
  meta["started_ms"] = meta["started_ms"].get<int64_t>() - ms;
  std::ofstream(meta_path, std::ios::trunc) << meta.dump();
}

// Bytes the server stores for the complete file `sha` (its sealed chunks and their heads).
inline uint64_t stored_bytes(ServerFixture& f, const std::string& sha) {
  if (test_postgres()) {
    auto rows = pg_query(f.db_url(),
                         "SELECT coalesce(sum(length(sealed)), 0) FROM attachment_chunks "
                         "WHERE sha256=$1",
                         {sha});
    return std::stoull(rows.at(0).at(0));
  }
  std::error_code ec;
  const auto n = std::filesystem::file_size(f.data_dir() + "/attachments/" + sha + ".blob", ec);
  return ec ? 0 : n;
}

// Flips one bit of the stored bytes of `sha`, `at` bytes into them (the first chunk's
// sealed bytes on PostgreSQL, the .blob file otherwise).
inline void damage_stored(ServerFixture& f, const std::string& sha, int at) {
  if (test_postgres()) {
    pg_query(f.db_url(),
             "UPDATE attachment_chunks SET sealed = set_byte(sealed, $2::int, "
             "get_byte(sealed, $2::int) # 1) WHERE sha256=$1 AND pos=0",
             {sha, std::to_string(at)});
    return;
  }
  const std::filesystem::path blob = f.data_dir() + "/attachments/" + sha + ".blob";
  std::fstream io(blob, std::ios::in | std::ios::out | std::ios::binary);
  char c = 0;
  io.seekg(at);
  io.read(&c, 1);
  c = static_cast<char>(c ^ 0x01);
  io.seekp(at);
  io.write(&c, 1);
}

}  // namespace lumbung::test
