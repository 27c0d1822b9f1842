// Scenario attachments (issue 17): N photos (one per workload record, --records N, default
// 5) uploaded over emulated field links (relay.h LinkProfile), then downloaded on demand by
// a second device; the bytes the link carried against the photos' own bytes, and the time.
//
// Each photo is 300,000 random bytes with a JPEG head (incompressible, like a JPEG). For each
// profile (2G: 100 kbit/s each way, 200 ms one way; the same cut every 30 KB per connection;
// 3G: 1,000 kbit/s, 100 ms), on a fresh server:
//  - device A loads the N records, attaches a photo to each and pushes the records straight
//    to the server (untimed): the link then carries only the attachments;
//  - upload (timed): upload_attachments() through the link, default SyncOptions;
//  - download (timed): a fresh device B pulls the records straight from the server
//    (untimed), then AttachmentStore::fetch()es every photo through the link, all through
//    one FetchLink (what the first fetch learned of the link sizes the next ones);
//  - download_fresh (timed, the behaviour before FetchLink, as a baseline in the same run):
//    a fresh device C does the same with every fetch sizing its ranges from scratch.
// Verified: the server holds every photo whole (GET /v1/attachments/{sha256}: complete),
// and B's bytes are the photos', SHA-256 for SHA-256.

#include <chrono>
#include <cstdio>
#include <random>

#include "checker.h"
#include "lumbung/attachments.h"
#include "scenarios.h"
#include "sync_support.h"
#include "workload.h"

namespace lumbung::bench {
namespace {

constexpr size_t kPhotoBytes = 300 * 1000;
constexpr size_t kDefaultPhotos = 5;

std::string photo(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  s[0] = '\xFF';
  s[1] = '\xD8';
  s[2] = '\xFF';
  return s;
}

struct UploadLeg {
  bool completed = false;
  double seconds = 0;
  uint64_t up = 0, down = 0, cuts = 0, connections = 0, requests = 0;
  std::string error;

  nlohmann::ordered_json json(uint64_t raw) const {
    nlohmann::ordered_json j;
    j["completed"] = completed;
    j["seconds"] = round3(seconds);
    j["bytes"] = up + down;
    j["bytes_up"] = up;
    j["bytes_down"] = down;
    j["bytes_vs_raw"] = round3(static_cast<double>(up + down) / static_cast<double>(raw));
    // The photos' own bytes per second of the leg, against the link's rate each way.
    j["payload_kbit_s"] = round3(seconds > 0 ? static_cast<double>(raw) * 8 / seconds / 1000 : 0);
    j["requests"] = requests;
    j["connections"] = connections;
    j["cuts"] = cuts;
    if (!error.empty()) j["error"] = error;
    return j;
  }
};

void take_link(UploadLeg& leg, Relay& relay) {
  leg.up = relay.bytes_up();
  leg.down = relay.bytes_down();
  leg.cuts = relay.cuts();
  leg.connections = relay.connections();
}

// Counts the HTTP requests a fetch makes (it reports none of its own).
class Counting : public Transport {
 public:
  explicit Counting(Transport& inner) : inner_(inner) {}
  HttpResponse send(const HttpRequest& r) override {
    ++requests;
    return inner_.send(r);
  }
  uint64_t requests = 0;

 private:
  Transport& inner_;
};

std::unique_ptr<Transport> link_transport(SyncEnv& env) {
  HttpTransportOptions topt;
  topt.timeout_ms = 120000;
  return make_http_transport(env.relay().url(), topt);
}

nlohmann::ordered_json run_profile(const Options& options, const Workload& workload,
                                   const std::string& name, LinkProfile link, size_t n,
                                   Checker& check, Result& total) {
  std::shared_ptr<const Schema> schema(Schema::load_file(options.schema_path));
  const std::string collection = workload_collection(*schema);
  SyncEnv env(options, "attachments-" + name, link);
  const auto scope = province_prefixes(workload, 0, n);
  auto a = open_device(env.dir() + "/a.db", schema, "bench-a");
  load_records(*a, workload, 0, n, collection);
  auto att_a = AttachmentStore::open(*a, AttachmentStore::path_for(env.dir() + "/a.db"));
  std::vector<std::string> ids, photos;
  std::vector<AttachmentRef> refs;
  for (size_t i = 0; i < n; ++i) {
    ids.push_back(Json::parse(workload.line(i)).at("id").get<std::string>());
    photos.push_back(photo(kPhotoBytes, static_cast<unsigned>(i + 1)));
    refs.push_back(
        att_a->attach(collection, ids.back(), "foto_ktp", photos.back(), "image/jpeg", "ktp.jpg"));
  }
  const std::string token_a = register_device(env, *a, scope);
  sync_direct(env, *a, token_a, "push");
  const uint64_t raw = static_cast<uint64_t>(n) * kPhotoBytes;

  std::fprintf(stderr, "attachments %s: uploading %zu photos...\n", name.c_str(), n);
  UploadLeg up;
  env.relay().reset();
  {
    auto t = link_transport(env);
    const auto t0 = std::chrono::steady_clock::now();
    try {
      const AttachmentSyncReport r = upload_attachments(*att_a, *t, token_a, SyncOptions{});
      up.completed = r.sent == n && r.failed == 0;
      up.requests = r.requests;
      if (!up.completed && !r.errors.empty()) up.error = r.errors.front().second;
    } catch (const std::exception& e) {
      up.error = e.what();
    }
    up.seconds = seconds_since(t0);
    take_link(up, env.relay());
  }
  std::fprintf(stderr, "  upload %s\n", up.json(raw).dump().c_str());
  for (const auto& ref : refs) {
    const HttpResult st = env.call("GET", "/v1/attachments/" + ref.sha256, Json(), token_a);
    check(st.status == 200 && st.body.value("complete", false),
          name + ": the server does not hold " + ref.sha256.substr(0, 12) + " whole");
  }

  // One device fetching every photo through the link, with one FetchLink for all of them
  // or (the baseline) none.
  auto download = [&](const std::string& dev, bool one_link) {
    auto b = open_device(env.dir() + "/" + dev + ".db", schema, "bench-" + dev);
    auto att_b =
        AttachmentStore::open(*b, AttachmentStore::path_for(env.dir() + "/" + dev + ".db"));
    const std::string token_b = register_device(env, *b, scope);
    sync_direct(env, *b, token_b, "pull");
    std::fprintf(stderr, "attachments %s: downloading %zu photos (%s)...\n", name.c_str(), n,
                 one_link ? "one FetchLink" : "each fetch from scratch");
    UploadLeg down;
    env.relay().reset();
    auto link_b = link_transport(env);
    Counting t(*link_b);
    FetchLink learned;
    const auto t0 = std::chrono::steady_clock::now();
    size_t right = 0;
    try {
      for (size_t i = 0; i < n; ++i) {
        const std::string got = att_b->fetch(t, token_b, collection, ids[i], "foto_ktp",
                                             SyncOptions{}, one_link ? &learned : nullptr);
        right += got == photos[i] ? 1 : 0;
      }
      down.completed = true;
    } catch (const std::exception& e) {
      down.error = e.what();
    }
    down.seconds = seconds_since(t0);
    down.requests = t.requests;
    take_link(down, env.relay());
    check(right == n, name + ": " + std::to_string(right) + " of " + std::to_string(n) +
                          " photos downloaded byte for byte by " + dev);
    for (const auto& ref : refs) {
      auto kept = att_b->read(ref.sha256);
      check(kept && kept->size() == kPhotoBytes, name + ": " + dev + " did not keep a photo");
    }
    std::fprintf(stderr, "  download %s\n", down.json(raw).dump().c_str());
    return down;
  };
  const UploadLeg down = download("b", true);
  const UploadLeg fresh = download("c", false);
  check(up.completed && down.completed && fresh.completed, name + ": a leg did not complete");

  nlohmann::ordered_json j;
  j["rate_kbit_s"] = link.rate_bits_per_s / 1000;
  j["one_way_ms"] = link.delay_ms;
  j["cut_after_bytes"] = link.cut_after;
  j["upload"] = up.json(raw);
  j["download"] = down.json(raw);
  j["download_fresh"] = fresh.json(raw);
  total.bytes_up += up.up + down.up + fresh.up;
  total.bytes_down += up.down + down.down + fresh.down;
  total.requests += up.requests + down.requests + fresh.requests;
  return j;
}

}  // namespace

Result run_attachments(const Options& options, const Workload& workload) {
  Checker check("attachments");
  const size_t n = std::min(workload.size(), options.records ? options.records : kDefaultPhotos);
  Result r;
  r.records = n;
  r.extra["photos"] = n;
  r.extra["photo_bytes"] = kPhotoBytes;
  r.extra["raw_bytes"] = n * kPhotoBytes;
  struct Profile {
    const char* name;
    LinkProfile link;
  };
  const Profile profiles[] = {
      {"2g", {100000, 200, 0}}, {"2g-cut30k", {100000, 200, 30000}}, {"3g", {1000000, 100, 0}}};
  const auto start = std::chrono::steady_clock::now();
  for (const Profile& p : profiles) {
    r.extra[p.name] = run_profile(options, workload, p.name, p.link, n, check, r);
  }
  r.seconds = seconds_since(start);
  r.verified = check.ok();
  return r;
}

}  // namespace lumbung::bench
