// lumbung-demo: the story tools/run.sh tells, with the engine's public API and the server's
// HTTP API. Two field laptops in Kecamatan Lambuya, Kabupaten Konawe, enrol village
// officials while offline, edit one record differently, enrol the same person twice, sync,
// and the central office settles both disagreements; every replica then agrees.
//
//   lumbung-demo --server http://127.0.0.1:PORT --admin-token TOKEN --dir DIR
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "lumbung/error.h"
#include "lumbung/schema.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"

using namespace lumbung;

namespace {

void step(const std::string& text) { std::cout << "\n\033[1m" << text << "\033[0m\n"; }
void line(const std::string& text) { std::cout << "  " << text << "\n"; }

// Admin and reviewer calls go over the same Transport the laptops use.
Json call(Transport& t, const std::string& token, const std::string& method,
          const std::string& target, const Json& body = Json()) {
  HttpRequest req;
  req.method = method;
  req.target = target;
  req.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  if (!body.is_null()) req.body = body.dump();
  HttpResponse r = t.send(req);
  Json j = Json::parse(r.body, nullptr, false);
  if (r.status / 100 != 2) {
    throw Error(ErrorCode::kProtocol, method + " " + target + " failed: " + r.body);
  }
  return j;
}

Json official(const std::string& nik, const std::string& name, const std::string& birth,
              const std::string& gender, const std::string& village, const std::string& position,
              const std::string& phone, int income) {
  return Json{{"nik", nik},
              {"full_name", name},
              {"birth_date", birth},
              {"gender", gender},
              {"village_code", village},
              {"occupation", "perangkat_desa"},
              {"position", position},
              {"phone", phone},
              {"programs", {"JKK", "JKM"}},
              {"monthly_income", income},
              {"payment_source", "APBDes"},
              {"status", "submitted"},
              {"created_at", "2026-11-23T08:00:00Z"},
              {"officer_id", "OFC-0001"}};
}

struct Laptop {
  std::unique_ptr<Store> store;
  std::unique_ptr<SyncClient> client;
};

Laptop open_laptop(const std::string& dir, const std::string& name, Transport& link,
                   std::shared_ptr<const Schema> schema) {
  OpenOptions o;
  o.path = dir + "/" + name + ".db";
  o.schema = std::move(schema);
  o.device_id = name;
  Laptop l;
  l.store = Store::open(o);
  l.client = std::make_unique<SyncClient>(*l.store, link, "");
  return l;
}

void report(const std::string& who, const SyncReport& r) {
  line(who + ": sent " + std::to_string(r.pushed) + " changes, received " +
       std::to_string(r.pulled) + ", " + std::to_string(r.bytes_up + r.bytes_down) +
       " bytes on the wire in " + std::to_string(r.requests) + " requests");
}

int run(int argc, char** argv) {
  std::string server, admin, dir, schema_path = LUMBUNG_SOURCE_DIR "/schema/enrolment.schema.json";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--server") server = argv[i + 1];
    else if (a == "--admin-token") admin = argv[i + 1];
    else if (a == "--dir") dir = argv[i + 1];
    else if (a == "--schema") schema_path = argv[i + 1];
  }
  if (server.empty() || admin.empty() || dir.empty()) {
    std::cerr << "usage: lumbung-demo --server URL --admin-token TOKEN --dir DIR\n";
    return 2;
  }
  auto schema = Schema::load_file(schema_path);
  auto office_link = make_http_transport(server);
  auto link_a = make_http_transport(server);
  auto link_b = make_http_transport(server);

  step("1. The central office makes enrolment codes for two laptops in Kecamatan Lambuya (74.02.01)");
  const std::string code_a = call(*office_link, admin, "POST", "/v1/admin/codes",
                                  Json{{"scope", {"74.02.01"}}, {"label", "Laptop Awuliti"}})["code"];
  const std::string code_b = call(*office_link, admin, "POST", "/v1/admin/codes",
                                  Json{{"scope", {"74.02.01"}}, {"label", "Laptop Lambuya"}})["code"];
  const std::string reviewer = call(*office_link, admin, "POST", "/v1/admin/tokens",
                                    Json{{"role", "reviewer"}, {"label", "Ibu Sari (reviewer)"}})["token"];
  line("codes made; each laptop registers with its own and gets a device token");
  Laptop a = open_laptop(dir, "laptop-awuliti", *link_a, schema);
  Laptop b = open_laptop(dir, "laptop-lambuya", *link_b, schema);
  a.client->register_device(code_a, "Laptop Awuliti");
  b.client->register_device(code_b, "Laptop Lambuya");

  step("2. Offline in the villages, each officer enrols perangkat desa");
  const std::string kades = a.store->create(
      "enrolment", official("7402015203780001", "Siti Rahmawati", "1978-03-12", "P",
                            "74.02.01.2006", "kepala desa", "+62 812-4100-2201", 4500000));
  a.store->create("enrolment", official("7402012107850002", "La Ode Amir", "1985-07-21", "L",
                                        "74.02.01.2006", "sekretaris desa", "0813 4100 2202", 3200000));
  b.store->create("enrolment", official("7402010901900003", "Andi Saputra", "1990-01-09", "L",
                                        "74.02.01.2001", "kaur keuangan", "081341002203", 2800000));
  line("laptop Awuliti: " + std::to_string(a.store->count("enrolment")) + " records, " +
       std::to_string(a.store->stats().pending_changes) + " changes waiting for a signal");
  line("laptop Lambuya: " + std::to_string(b.store->count("enrolment")) + " records");
  try {
    a.store->create("enrolment", official("7402015203780009", "Wa Ode Nur", "1978-03-21", "P",
                                          "74.02.01.2006", "kaur umum", "081341002209", 2500000));
  } catch (const Error& e) {
    line(std::string("a typing mistake is caught on the spot: ") + e.what());
  }

  step("3. A signal! Both laptops sync");
  report("laptop Awuliti", a.client->sync());
  report("laptop Lambuya", b.client->sync());
  report("laptop Awuliti", a.client->sync());
  line("both laptops now hold " + std::to_string(a.store->count("enrolment")) + " and " +
       std::to_string(b.store->count("enrolment")) + " records");

  step("4. Offline again: both officers correct the kepala desa's phone, differently;");
  line("and the Lambuya officer enrols the sekretaris desa again (same NIK)");
  a.store->update("enrolment", kades, {{"phone", "081241002299"}});
  b.store->update("enrolment", kades, {{"phone", "085241002288"}});
  b.store->create("enrolment", official("7402012107850002", "La Ode Amir", "1985-07-21", "L",
                                        "74.02.01.2006", "sekretaris desa", "081341002277", 3200000));
  report("laptop Awuliti", a.client->sync());
  report("laptop Lambuya", b.client->sync());

  step("5. The central office reviews");
  Json conflicts = call(*office_link, reviewer, "GET", "/v1/conflicts")["conflicts"];
  for (const auto& c : conflicts) {
    line("conflict on " + c["field"].get<std::string>() + ": kept " + c["winner"]["value"].dump() +
         ", also seen " + c["loser"]["value"].dump() + " (" + c["kind"].get<std::string>() + ")");
  }
  Json dups = call(*office_link, reviewer, "GET", "/v1/duplicates")["duplicates"];
  line(std::to_string(dups.size()) + " duplicate enrolment(s) of one NIK");
  for (const auto& c : conflicts) {
    if (c["kind"] == "concurrent_update") {
      call(*office_link, reviewer, "POST", "/v1/conflicts/" + c["id"].get<std::string>() + "/resolve",
           Json{{"value", "081241002299"}});
      line("reviewer confirms the phone with the village: 081241002299");
    }
  }
  for (const auto& d : dups) {
    const std::string survivor = d["record_ids"][0];
    call(*office_link, reviewer, "POST", "/v1/duplicates/" + d["id"].get<std::string>() + "/merge",
         Json{{"survivor", survivor}});
    line("reviewer merges the two enrolments into " + survivor.substr(0, 8) + "…");
  }

  step("6. Next time each laptop has a signal, the decisions reach it");
  report("laptop Awuliti", a.client->sync());
  report("laptop Lambuya", b.client->sync());
  const auto pa = a.store->get("enrolment", kades), pb = b.store->get("enrolment", kades);
  line("kepala desa's phone on both laptops: " + pa->fields["phone"].get<std::string>() + " / " +
       pb->fields["phone"].get<std::string>());
  line("live records: laptop Awuliti " + std::to_string(a.store->count("enrolment")) +
       ", laptop Lambuya " + std::to_string(b.store->count("enrolment")));
  const bool agree = pa->fields == pb->fields &&
                     a.store->count("enrolment") == b.store->count("enrolment");
  line(agree ? "every replica agrees; nothing was lost." : "REPLICAS DISAGREE");
  return agree ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "lumbung-demo: " << e.what() << "\n";
    return 1;
  }
}
