// A client that is not the reference one (issue 11: "invalid entries from a non-reference
// client"): it builds its change sets by hand and sends what a buggy or hostile app would -
// invalid NIKs, wrong types, unknown fields, records outside its regions, edits of records
// it never saw, malformed JSON, another device's change set, a seq gap, replays. Each answer
// must be a refusal (the op acknowledged and set aside) or an error with a stable code, and
// the server's records must be exactly what they were. The device is registered like any
// other; its ops never reach the oplog (invariants.cpp flags an op of an unknown device).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "lumbung/changeset.h"
#include "sim/in_process_server.h"

namespace lumbung::sim {

class RawClient {
 public:
  // Registers device `device_id` for `scope` (a region prefix) with a code made by admin.
  RawClient(test::InProcessServer& server, const std::string& admin_token,
            const std::string& reviewer_token, const std::string& device_id,
            const std::string& scope, uint64_t seed);

  // Sends one bad request chosen by the client's own stream; `existing` is a record id the
  // server may hold (or ""). Returns what went wrong, or "" if the server behaved.
  std::string send_one(const std::string& existing);
  const std::string& last_action() const { return last_; }

 private:
  Json records();
  HttpResponse post(const std::string& target, const std::string& body, const std::string& token);
  Json op(const std::string& id, const Json& set, const Json& base) const;

  test::InProcessServer& server_;
  std::string reviewer_;
  std::string device_;
  std::string token_;
  std::mt19937_64 rng_;
  uint64_t acked_ = 0;     // as the server last said
  std::string last_body_;  // the last change set sent, for replays
  std::string last_;       // what the last send_one did, for the log
  int serial_ = 900000;    // NIK serials no sim device uses
};

}  // namespace lumbung::sim
