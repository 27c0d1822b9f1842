#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "lumbung/store.h"
#include "support/enrolment.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

using namespace lumbung;
using test::enrolment_schema;
using test::sample_enrolment;

namespace {

std::unique_ptr<Store> open_store(const std::string& path, const std::string& device = "dev-a",
                                  WallClock* clock = nullptr) {
  OpenOptions o;
  o.path = path;
  o.schema = enrolment_schema();
  o.device_id = device;
  o.clock = clock;
  return Store::open(o);
}

ErrorCode error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;
}

}  // namespace

TEST_CASE("create - get - update - delete - each logged as one change") {
  test::TempDir dir;
  auto store = open_store(dir.file("s.db"));
  const std::string id = store->create("enrolment", sample_enrolment());
  CHECK(id.size() == 36);
  CHECK(id[14] == '7');  // UUIDv7

  auto rec = store->get("enrolment", id);
  REQUIRE(rec);
  CHECK(rec->fields["full_name"] == "Eko Setiawan");
  CHECK(rec->versions.at("nik").device == "dev-a");

  store->update("enrolment", id, {{"phone", "+62 812-3456-7890"}});
  rec = store->get("enrolment", id);
  CHECK(rec->fields["phone"] == "081234567890");  // normalised on write
  CHECK(rec->versions.at("phone") > rec->versions.at("nik"));

  store->update("enrolment", id, {{"phone", "081234567890"}});  // same value: no change
  auto pending = store->pending_changes(100);
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].op.seq == 1);
  CHECK(pending[1].op.seq == 2);
  CHECK(pending[1].op.set == Json{{"phone", "081234567890"}});
  CHECK(pending[1].op.base.at("phone") == pending[0].op.version);

  store->remove("enrolment", id);
  CHECK_FALSE(store->get("enrolment", id));
  auto gone = store->get("enrolment", id, true);
  REQUIRE(gone);
  CHECK(gone->deleted);
  CHECK(gone->fields["full_name"] == "Eko Setiawan");  // tombstone keeps the values
  pending = store->pending_changes(100);
  REQUIRE(pending.size() == 3);
  CHECK(pending[2].op.is_delete);
  CHECK(store->stats().pending_changes == 3);
}

TEST_CASE("invalid writes throw a clear error and change nothing") {
  test::TempDir dir;
  auto store = open_store(dir.file("s.db"));
  Json bad = sample_enrolment();
  bad["birth_date"] = "1980-11-09";
  try {
    store->create("enrolment", bad);
    FAIL("expected a validation error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kValidationFailed);
    CHECK_FALSE(std::string(e.what()).empty());
  }
  Json unknown = sample_enrolment();
  unknown["shoe_size"] = 42;
  CHECK(error_of([&] { store->create("enrolment", unknown); }) == ErrorCode::kUnknownField);
  CHECK(error_of([&] { store->create("nope", sample_enrolment()); }) ==
        ErrorCode::kUnknownCollection);
  CHECK(error_of([&] { store->create("enrolment", sample_enrolment(), "not-a-uuid"); }) ==
        ErrorCode::kInvalidArgument);
  CHECK(store->stats().pending_changes == 0);
  CHECK(store->count("enrolment") == 0);

  const std::string id = store->create("enrolment", sample_enrolment());
  CHECK(error_of([&] { store->create("enrolment", sample_enrolment(), id); }) ==
        ErrorCode::kAlreadyExists);
  CHECK(error_of([&] {
          store->update("enrolment", id, {{"gender", "P"}});
        }) == ErrorCode::kValidationFailed);  // NIK day 19 says a man
  CHECK(error_of([&] {
          store->update("enrolment", id, {{"status", "draft"}});
        }) == ErrorCode::kStatusRegression);
  CHECK(error_of([&] {
          store->update("enrolment", id, {{"nik", nullptr}});
        }) == ErrorCode::kValidationFailed);  // required
  CHECK(error_of([&] {
          store->update("enrolment", "0193a6c2-0000-7000-8000-000000000000",
                        {{"phone", "0812345678"}});
        }) == ErrorCode::kNotFound);
  CHECK(store->stats().pending_changes == 1);
  CHECK(store->get("enrolment", id)->fields["gender"] == "L");
}

TEST_CASE("queries by natural key - scope prefix and pages") {
  test::TempDir dir;
  auto store = open_store(dir.file("s.db"));
  auto batch = store->begin_batch();
  for (int i = 1; i <= 25; ++i) {
    Json r = sample_enrolment(i);
    r["village_code"] = i <= 10 ? "74.02.01.2006" : "7414012001";
    batch.create("enrolment", r);
  }
  batch.commit();
  CHECK(store->count("enrolment") == 25);
  CHECK(store->count("enrolment", "74.02") == 10);
  CHECK(store->count("enrolment", "7414") == 15);

  std::set<std::string> seen;
  Query q;
  q.collection = "enrolment";
  q.scope_prefix = "74.14";
  q.limit = 4;
  for (int page = 0; page < 10; ++page) {
    Page p = store->query(q);
    for (const auto& r : p.records) {
      CHECK(r.fields["village_code"] == "7414012001");
      CHECK(seen.insert(r.id).second);
    }
    if (p.next_after.empty()) break;
    q.after_id = p.next_after;
  }
  CHECK(seen.size() == 15);

  auto found = store->find_by_key("enrolment", "7242111911800003");
  REQUIRE(found.size() == 1);
  CHECK(found[0].fields["nik"] == "7242111911800003");
  CHECK(store->find_by_key("enrolment", "7242111911809999").empty());
}

TEST_CASE("a batch rolled back leaves nothing - and the sequence continues without a gap") {
  test::TempDir dir;
  auto store = open_store(dir.file("s.db"));
  {
    auto batch = store->begin_batch();
    batch.create("enrolment", sample_enrolment(1));
    batch.create("enrolment", sample_enrolment(2));
  }  // destroyed without commit
  CHECK(store->count("enrolment") == 0);
  store->create("enrolment", sample_enrolment(3));
  auto pending = store->pending_changes(10);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].op.seq == 1);
}

TEST_CASE("acknowledged changes leave the outbox: the store reopens with its clock and seq") {
  test::TempDir dir;
  test::FakeWallClock wall(test::kToday);
  uint64_t last_hlc = 0;
  {
    auto store = open_store(dir.file("s.db"), "dev-a", &wall);
    for (int i = 1; i <= 5; ++i) store->create("enrolment", sample_enrolment(i));
    store->acknowledge(3);
    CHECK(store->stats().pending_changes == 2);
    CHECK(store->pending_changes(10).front().op.seq == 4);
    last_hlc = store->pending_changes(10).back().op.version.hlc;
    CHECK(error_of([&] { store->acknowledge(99); }) == ErrorCode::kInvalidArgument);
  }
  wall.set(test::kToday - 86400000);  // the laptop's clock went back a day while closed
  auto store = open_store(dir.file("s.db"), "", &wall);
  CHECK(store->device_id() == "dev-a");
  CHECK(store->stats().pending_changes == 2);
  const std::string id = store->create("enrolment", sample_enrolment(6));
  auto pending = store->pending_changes(10);
  CHECK(pending.back().op.seq == 6);
  CHECK(pending.back().op.version.hlc > last_hlc);
  CHECK(store->get("enrolment", id));
  CHECK(error_of([&] { open_store(dir.file("s.db"), "dev-other"); }) == ErrorCode::kSchemaMismatch);
}

TEST_CASE("remote ops apply idempotently - keep conflicts - and commit with the cursor") {
  test::TempDir dir;
  auto a = open_store(dir.file("a.db"), "dev-a");
  auto b = open_store(dir.file("b.db"), "dev-b");
  const std::string id = a->create("enrolment", sample_enrolment());
  std::vector<Op> ops;
  for (auto& c : a->pending_changes(10)) ops.push_back(c.op);
  auto r = b->apply_remote(ops, {{"cursor", "c1"}});
  CHECK(r.applied == 1);
  CHECK(b->get_meta("cursor") == "c1");
  r = b->apply_remote(ops, {{"cursor", "c1"}});
  CHECK(r.applied == 0);
  CHECK(r.duplicates == 1);
  CHECK(b->get("enrolment", id)->fields == a->get("enrolment", id)->fields);

  // Both edit the phone offline; b then receives a's edit: a true conflict, kept on b.
  a->update("enrolment", id, {{"phone", "081111111111"}});
  b->update("enrolment", id, {{"phone", "082222222222"}});
  std::vector<Op> edit = {a->pending_changes(10).back().op};
  r = b->apply_remote(edit);
  REQUIRE(r.conflicts.size() == 1);
  auto conflicts = b->conflicts();
  REQUIRE(conflicts.size() == 1);
  CHECK(conflicts[0].field == "phone");
  CHECK(conflicts[0].kind == ConflictKind::kConcurrentUpdate);
  const std::set<std::string> sides = {conflicts[0].winner.value.get<std::string>(),
                                       conflicts[0].loser.value.get<std::string>()};
  CHECK(sides == std::set<std::string>{"081111111111", "082222222222"});
  CHECK(b->stats().open_conflicts == 1);
  // A later edit that had seen the winner settles the conflict on this replica.
  b->update("enrolment", id, {{"phone", "083333333333"}});
  CHECK(b->stats().open_conflicts == 0);
}

TEST_CASE("the store is safe to use from several threads") {
  test::TempDir dir;
  auto store = open_store(dir.file("s.db"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string id = store->create("enrolment", sample_enrolment(t * 100 + i + 1));
        store->update("enrolment", id, {{"phone", "0812345678" + std::to_string(t)}});
        (void)store->stats();
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(store->count("enrolment") == 200);
  auto pending = store->pending_changes(1000);
  REQUIRE(pending.size() == 400);
  for (size_t i = 0; i < pending.size(); ++i) CHECK(pending[i].op.seq == i + 1);
}

// A child process writes batches of 100 records forever; the parent kills it with SIGKILL
// while it is mid-batch. Every committed batch must be there with its change entries, and
// no part of the interrupted one.
TEST_CASE(
    "a crash mid-batch leaves every committed write and its change entry - and no half write") {
  test::TempDir dir;
  const std::string path = dir.file("crash.db");
  open_store(path).reset();  // create the file before forking
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(fds[0]);
    try {
      auto store = open_store(path);
      for (int b = 0; b < 100000; ++b) {
        auto batch = store->begin_batch();
        for (int i = 0; i < 100; ++i) batch.create("enrolment", sample_enrolment(i + 1));
        batch.commit();
        const char tick = 'c';
        if (write(fds[1], &tick, 1) != 1) _exit(3);
      }
    } catch (...) {
      _exit(2);
    }
    _exit(0);
  }
  close(fds[1]);
  int commits = 0;
  char tick;
  while (commits < 5 && read(fds[0], &tick, 1) == 1) ++commits;  // bounded by the child's loop
  // Land the kill at an arbitrary point inside a later batch.
  std::this_thread::sleep_for(std::chrono::microseconds(700));
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  close(fds[0]);
  REQUIRE(WIFSIGNALED(status));
  CHECK(commits == 5);

  auto store = open_store(path);
  const uint64_t records = store->count("enrolment");
  const auto stats = store->stats();
  CHECK(records >= 500);
  CHECK(records % 100 == 0);  // whole batches only
  CHECK(stats.pending_changes == records);
  auto pending = store->pending_changes(records + 10);
  REQUIRE(pending.size() == records);
  for (size_t i = 0; i < pending.size(); i += 97) {
    CHECK(pending[i].op.seq == i + 1);
    CHECK(store->get("enrolment", pending[i].op.id));
  }
  // The reopened store keeps writing with the next seq.
  store->create("enrolment", sample_enrolment(9));
  CHECK(store->pending_changes(1, records).front().op.seq == records + 1);
}

TEST_CASE("pending_wire sends exactly the ops pending_changes describes") {
  for (const std::string passphrase : {"", "kata sandi"}) {
    CAPTURE(passphrase);
    test::TempDir dir;
    OpenOptions o;
    o.path = dir.file("w.db");
    o.schema = enrolment_schema();
    o.device_id = "dev-w";
    o.passphrase = passphrase;
    auto store = Store::open(o);
    const std::string a = store->create("enrolment", sample_enrolment(1));
    const std::string b = store->create("enrolment", sample_enrolment(2));
    store->create("enrolment", sample_enrolment(3));
    store->update("enrolment", a, {{"phone", "081234567890"}});  // a's create now partial
    store->remove("enrolment", b);
    const auto changes = store->pending_changes(100);
    const auto wire = store->pending_wire(100);
    REQUIRE(changes.size() == wire.size());
    for (size_t i = 0; i < wire.size(); ++i) {
      CHECK(wire[i].seq == changes[i].op.seq);
      const Op decoded = decode_op(Json::parse(wire[i].json), store->device_id());
      CHECK(encode_op(decoded, true) == encode_op(changes[i].op, true));
    }
    // a's create carries the values it was written with (a whole record on every replica
    // that applies it alone, and only what this device wrote at that version); the update
    // entry brings the new phone with its newer version.
    CHECK(decode_op(Json::parse(wire[0].json), "d").set.at("phone") ==
          sample_enrolment(1).at("phone"));
    CHECK(decode_op(Json::parse(wire[3].json), "d").set.at("phone") == "081234567890");
    CHECK(store->pending_wire(100, 3).size() == 2);
  }
}

TEST_CASE("pulled ops for unknown records take the insert path and equal the general merge") {
  test::TempDir dir;
  auto a = open_store(dir.file("a.db"), "dev-a");
  auto b = open_store(dir.file("b.db"), "dev-b");
  for (int i = 1; i <= 5; ++i) a->create("enrolment", sample_enrolment(i));
  std::vector<Op> ops;
  for (auto& c : a->pending_changes(10)) ops.push_back(c.op);
  CHECK(b->apply_remote(ops).applied == 5);
  CHECK(b->apply_remote(ops).duplicates == 5);
  for (const auto& op : ops) {
    auto ra = a->get("enrolment", op.id), rb = b->get("enrolment", op.id);
    REQUIRE(rb);
    CHECK(ra->fields == rb->fields);
    CHECK(ra->versions == rb->versions);
  }
  CHECK(b->find_by_key("enrolment", sample_enrolment(2)["nik"]).size() == 1);
  CHECK(b->count("enrolment", "72.42") == 5);
}

// tests/sim seed 425: a laptop whose clock ran ahead deleted a record it had created before
// it learnt that the server re-stamped the create; the delete's base named the far-future
// version, which the server read as a sight of every newer edit, and buried one.
TEST_CASE("a re-stamp also rewrites the base of later unsent entries that name it") {
  test::TempDir dir;
  auto store = open_store(dir.file("a.db"));
  const std::string id = store->create("enrolment", sample_enrolment(1));
  store->update("enrolment", id, {{"phone", "081211112222"}});
  store->remove("enrolment", id);
  const Version created = store->pending_changes(10).front().op.version;
  REQUIRE(store->pending_changes(10).back().op.base.at("nik") == created);
  const uint64_t fresh = created.hlc - 5000;  // the server's time, well before
  store->apply_restamps({{1, fresh}});
  const auto pending = store->pending_changes(10);
  REQUIRE(pending.size() == 3);
  CHECK(pending[0].op.version.hlc == fresh);
  CHECK(pending[1].op.base.at("phone") == Version{fresh, "dev-a"});
  for (const auto& [field, v] : pending[2].op.base) {
    const Version renamed{fresh, "dev-a"};
    if (field != "phone") CHECK_MESSAGE(v == renamed, field);
  }
  CHECK(pending[2].op.base.at("phone") == pending[1].op.version);  // not re-stamped: kept
  const auto wire = store->pending_wire(10);
  CHECK(Json::parse(wire[2].json)["base"]["nik"][0] == fresh);
}

// Two processes on one laptop store (`lumbung sync` in one terminal, `lumbung enrol` in
// another): each Store kept its next seq and clock in memory, so the second writer gave out
// the seq the first had just used (its write failed on the log's key) or a version the
// first had issued. Two Stores on one file, as two processes open it, must interleave.
TEST_CASE("two stores open on one file interleave writes without reusing a seq or a version") {
  test::TempDir dir;
  test::FakeWallClock wall(test::kToday);  // neither clock moves: only the counters differ
  auto one = open_store(dir.file("s.db"), "dev-a", &wall);
  auto two = open_store(dir.file("s.db"), "", &wall);
  std::vector<std::string> ids;
  for (int i = 1; i <= 6; ++i) {
    Store& s = i % 2 ? *one : *two;
    ids.push_back(s.create("enrolment", sample_enrolment(i)));
  }
  one->update("enrolment", ids[1], {{"phone", "081200000777"}});
  two->update("enrolment", ids[0], {{"phone", "081200000778"}});
  auto pending = one->pending_changes(100);
  REQUIRE(pending.size() == 8);
  std::set<uint64_t> versions;
  for (size_t i = 0; i < pending.size(); ++i) {
    CHECK(pending[i].op.seq == i + 1);
    versions.insert(pending[i].op.version.hlc);
    if (i > 0) CHECK(pending[i].op.version.hlc > pending[i - 1].op.version.hlc);
  }
  CHECK(versions.size() == pending.size());
  CHECK(two->get("enrolment", ids[1])->fields["phone"] == "081200000777");
  CHECK(one->acknowledge(8) == 8);  // the last entry is `two`'s: `one` pushed it from the log
  CHECK(two->create("enrolment", sample_enrolment(7)).size() > 0);
  CHECK(two->pending_changes(10).front().op.seq == 9);
}
