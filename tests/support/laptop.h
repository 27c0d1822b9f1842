// A field laptop for end-to-end tests: its own store file, an HTTP link to a real
// lumbung-server that can be made to fail (FaultTransport), a SyncClient registered with
// an enrolment code for `scope`. Header-only; needs server/server_fixture.h and lumbung_http.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/fault_transport.h"
#include "support/temp_dir.h"

namespace lumbung::test {

// One field laptop: its own store file, an HTTP link that can be made to fail, a client.
class Laptop {
 public:
  Laptop(ServerFixture& server, const std::string& id, const std::vector<std::string>& scope,
         WallClock* clock = nullptr)
      : http_(make_http_transport(server.server().base_url())), link(*http_) {
    OpenOptions o;
    o.path = dir_.path() + "/" + id + ".db";
    o.schema = enrolment_schema();
    o.device_id = id;
    o.clock = clock;
    options_ = o;
    store = Store::open(o);
    client = std::make_unique<SyncClient>(*store, link, "");
    token_ = client->register_device(server.code(scope), "laptop " + id);
  }

  // Closes the store and opens it again under `schema` (a newer version the laptop
  // fetched: the store upgrades its records), with the same device token.
  void reopen(std::shared_ptr<const Schema> schema) {
    client.reset();
    store.reset();
    options_.schema = std::move(schema);
    store = Store::open(options_);
    client = std::make_unique<SyncClient>(*store, link, token_);
  }

  SyncReport sync() {
    SyncOptions o;
    o.sleep = [](int) {};  // retries without waiting: the tests are about outcomes
    o.max_attempts = 5;
    return client->sync(o);
  }
  // Every live record as id -> fields, for comparing replicas.
  std::map<std::string, Json> contents() const {
    std::map<std::string, Json> out;
    Query q;
    q.collection = "enrolment";
    q.limit = 1000;
    for (int page = 0; page < 100; ++page) {
      Page p = store->query(q);
      for (auto& r : p.records) out[r.id] = r.fields;
      if (p.next_after.empty()) break;
      q.after_id = p.next_after;
    }
    return out;
  }

 private:
  TempDir dir_;
  std::unique_ptr<Transport> http_;
  OpenOptions options_;
  std::string token_;

 public:
  FaultTransport link;
  std::unique_ptr<Store> store;
  std::unique_ptr<SyncClient> client;
};

}  // namespace lumbung::test
