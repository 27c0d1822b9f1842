// Logs and error messages never contain personal data: a full sync of records (two laptops,
// a conflict, a duplicate NIK, a review decision, an out-of-scope refusal) through the real
// server, then every NIK, name and phone written is searched for in the server's stdout and
// stderr and in the error messages the devices got.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "lumbung/error.h"
#include "security/security_support.h"

using namespace lumbung;
using namespace lumbung::test;
using nlohmann::json;

namespace {

const char* kNames[] = {"Sitti Aminah", "La Ode Baco",   "Wa Ode Sarina",  "Andi Mappasessu",
                        "Ni Luh Ketut", "Yohanis Tandi", "Fransiska Lalu", "Muhammad Rizal"};

std::string phone_for(int i) { return "0813" + std::to_string(41000000 + i * 7919); }

Json person(int i) {
  Json r = sample_enrolment(100 + i);                    // born 1980-11-19, male
  r["nik"] = "740201191180" + std::to_string(1000 + i);  // Kec. Lambuya, born 19-11-80
  r["full_name"] = kNames[i % 8] + std::string(i >= 8 ? " " + std::to_string(i) : "");
  r["phone"] = phone_for(i);
  r["village_code"] = "74.02.01.2006";
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("a full sync leaves no NIK - name or phone in server logs or device errors") {
  SecServer s;
  const std::string url = s.server().base_url();
  HttpTransportOptions topt;
  topt.timeout_ms = 20000;
  Laptop a(url, topt, "laptop-a"), b(url, topt, "laptop-b"), c(url, topt, "laptop-c");
  a.client->register_device(s.code({"74.02"}), "A");
  b.client->register_device(s.code({"74.02"}), "B");
  c.client->register_device(s.code({"74.14"}), "C");  // another kabupaten

  std::vector<std::string> personal;  // every value that must not leak
  std::vector<std::string> ids;
  for (int i = 0; i < 16; ++i) {
    Json r = person(i);
    personal.push_back(r["nik"]);
    personal.push_back(r["full_name"]);
    personal.push_back(r["phone"]);
    ids.push_back(a.store->create("enrolment", r));
  }
  std::vector<std::string> device_errors;
  a.sync();
  b.sync();
  // The same person enrolled again on B (duplicate NIK), and both edit one phone (conflict).
  Json again = person(3);
  again["phone"] = "081377700001";
  personal.push_back("081377700001");
  b.store->create("enrolment", again);
  a.store->update("enrolment", ids[0], Json{{"phone", "081377700002"}});
  b.store->update("enrolment", ids[0], Json{{"phone", "081377700003"}});
  personal.push_back("081377700002");
  personal.push_back("081377700003");
  a.sync();
  b.sync();
  a.sync();

  // The reviewer settles both, typing a phone number.
  const std::string reviewer = s.staff("reviewer")["token"];
  auto conflicts = s.http().get("/v1/conflicts", reviewer).json()["conflicts"];
  for (const auto& cf : conflicts) {
    if (cf["field"] == "phone") {
      CHECK(s.http()
                .post("/v1/conflicts/" + cf["id"].get<std::string>() + "/resolve",
                      json{{"value", "081377700004"}}, reviewer)
                .status == 200);
    }
  }
  personal.push_back("081377700004");
  auto dups = s.http().get("/v1/duplicates", reviewer).json()["duplicates"];
  CHECK(dups.size() >= 1);
  for (const auto& d : dups) {
    const std::string survivor = d.contains("record_a") ? d["record_a"] : d["record_ids"][0];
    s.http().post("/v1/duplicates/" + d["id"].get<std::string>() + "/merge",
                  json{{"survivor", survivor}}, reviewer);
  }
  a.sync();
  b.sync();

  // Laptop C writes a Konawe record it has no right to: the laptop knows its regions and
  // refuses it at entry; a laptop that did not know them yet pushes it and the server
  // refuses (and keeps) the op. Neither message may carry the person's data.
  Json stray = person(20);
  personal.push_back(stray["nik"]);
  personal.push_back(stray["full_name"]);
  personal.push_back(stray["phone"]);
  try {
    c.store->create("enrolment", stray);
    FAIL("an out-of-region record was accepted on the laptop");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kOutOfScope);
    device_errors.push_back(e.what());
  }
  c.store->set_regions({});
  c.store->create("enrolment", stray);
  c.sync();
  const auto refused = c.store->refused_changes();
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].code == "out_of_scope");
  device_errors.push_back(refused[0].message);
  // A local validation error names the field, not the value.
  Json bad = person(21);
  bad["nik"] = "7402015503990011";  // says born 15-03-1999 (female), not the birth date given
  personal.push_back("7402015503990011");
  try {
    a.store->create("enrolment", bad);
  } catch (const Error& e) {
    device_errors.push_back(e.what());
  }

  const std::string out = s.server().drain_stdout();
  s.stop();
  std::string logs = out + "\n" + slurp(s.stderr_path());
  for (const auto& l : s.server().startup_lines()) logs += l + "\n";
  MESSAGE("server log bytes: " << logs.size() << "; device errors: " << device_errors.size());
  CHECK(logs.find("lumbung-server") != std::string::npos);  // the capture worked
  for (const std::string& p : personal) {
    INFO("personal value: " << p);
    CHECK(logs.find(p) == std::string::npos);
    for (const std::string& e : device_errors) CHECK(e.find(p) == std::string::npos);
  }
}
