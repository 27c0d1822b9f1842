// The program that made store_before_macs.sql: built against the engine of commit 9ba1020
// (before row MACs), not part of the build. To make the file again:
//   git worktree add /tmp/old 9ba1020 && cmake -S /tmp/old -B /tmp/old/b -DCMAKE_BUILD_TYPE=Release \
//     -DLUMBUNG_BUILD_TESTS=OFF -DLUMBUNG_BUILD_SERVER=OFF && cmake --build /tmp/old/b --target lumbung_engine
//   g++ -std=c++17 -I/tmp/old/engine/include make_store_before_macs.cpp \
//     /tmp/old/b/engine/liblumbung_engine.a -lsqlite3 -lcrypto -lz -lpthread -o gen
//   ./gen old.db /tmp/old/schema/enrolment.schema.json && sqlite3 old.db .dump
// (then the comment header of store_before_macs.sql above the dump).
#include <cstdio>
#include <iostream>

#include "lumbung/store.h"

using namespace lumbung;

static Json sample(int serial) {
  std::string digits = std::to_string(serial);
  const std::string nik = "724211191180" + std::string(4 - digits.size(), '0') + digits;
  return Json{{"nik", nik},
              {"full_name", "Nama Lama " + digits},
              {"birth_date", "1980-11-19"},
              {"gender", "L"},
              {"village_code", "7242111687"},
              {"position", "kasi pelayanan"},
              {"phone", "08952220666"},
              {"programs", {"JKK", "JKM"}},
              {"monthly_income", 13700000 + serial},
              {"status", "submitted"},
              {"created_at", "2025-01-06T00:00:03.306Z"},
              {"officer_id", "OFC-0022"}};
}

int main(int argc, char** argv) {
  OpenOptions o;
  o.path = argv[1];
  o.schema = Schema::load_file(argv[2]);
  o.device_id = "dev-old";
  o.passphrase = "lama-sebelum-mac";
  auto s = Store::open(o);
  const std::string a = s->create("enrolment", sample(1), "0190aaaa-0000-7000-8000-00000000000a");
  const std::string b = s->create("enrolment", sample(2), "0190aaaa-0000-7000-8000-00000000000b");
  const std::string c = s->create("enrolment", sample(3), "0190aaaa-0000-7000-8000-00000000000c");
  s->update("enrolment", a, {{"phone", "081211112222"}, {"status", "verified"}});
  s->remove("enrolment", b);
  s->set_secret("device_token", "lbd_legacy_token_123");
  s->set_regions({"7242"});
  s->acknowledge(2);
  // A pulled record of another device, and a concurrent edit of a's phone: one conflict.
  Op pulled;
  pulled.collection = "enrolment";
  pulled.id = "0190aaaa-0000-7000-8000-00000000000d";
  pulled.version = {s->clock().now() + 10, "dev-z"};
  pulled.set = sample(4);
  Op concurrent;
  concurrent.collection = "enrolment";
  concurrent.id = a;
  concurrent.version = {s->clock().now() + 20, "dev-z"};
  concurrent.set = {{"phone", "081233334444"}};
  concurrent.base = {{"phone", s->get("enrolment", a)->versions.at("nik")}};
  auto r = s->apply_remote({pulled, concurrent}, {{"cursor", "v2:1:2"}});
  // c moved out of the regions while its create is still unsent: hidden, kept for the push.
  Op gone;
  gone.collection = "enrolment";
  gone.id = c;
  gone.version = {s->clock().now() + 30, "server"};
  gone.gone = true;
  s->apply_remote({gone});
  RefusedChange ref;
  ref.seq = 1;
  ref.collection = "enrolment";
  ref.record_id = a;
  ref.code = "validation_failed";
  ref.field = "phone";
  ref.message = "phone 08952220666 is not valid";
  ref.at_ms = 1760000000000;
  s->record_refused({ref});
  std::cerr << "conflicts " << r.conflicts.size() << ", pending " << s->pending_count()
            << ", refused " << s->refused_changes().size() << "\n";
}
