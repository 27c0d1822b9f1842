#include "digest.h"

#include <algorithm>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <vector>

#include <openssl/evp.h>

#include "lumbung/store.h"
#include "workload.h"

namespace lumbung::bench {
namespace {

// Records hashed per Store::query page: small enough that a page of decoded records adds
// little to the peak RSS the benchmark reports.
constexpr size_t kDigestPage = 1000;

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
      throw std::runtime_error("SHA-256 unavailable");
    }
  }
  void add(std::string_view s) { EVP_DigestUpdate(ctx_.get(), s.data(), s.size()); }
  void add_record(std::string_view id, const std::string& fields) {
    add(id);
    add("\n");
    add(fields);
    add("\n");
  }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &n);
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
      out.push_back(kHex[md[i] >> 4]);
      out.push_back(kHex[md[i] & 15]);
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

}  // namespace

ContentDigest::ContentDigest() : ctx_(new Sha256()) {}
ContentDigest::~ContentDigest() { delete static_cast<Sha256*>(ctx_); }
void ContentDigest::add_record(std::string_view id, const std::string& fields_json) {
  static_cast<Sha256*>(ctx_)->add_record(id, fields_json);
}
std::string ContentDigest::hex() { return static_cast<Sha256*>(ctx_)->hex(); }

std::string store_digest(const Store& store, const std::string& collection, uint64_t* records) {
  Sha256 sha;
  uint64_t n = 0;
  Query q;
  q.collection = collection;
  q.limit = kDigestPage;
  for (;;) {
    Page page = store.query(q);
    for (const Record& r : page.records) {
      sha.add_record(r.id, r.fields.dump());
      ++n;
    }
    if (page.next_after.empty()) break;
    q.after_id = page.next_after;
  }
  if (records) *records = n;
  return sha.hex();
}

Json expected_fields(std::string_view line, const CollectionSchema& cs) {
  Json fields = Json::parse(line);
  const std::string id = fields.at("id").get<std::string>();
  fields.erase("id");
  auto issues = cs.normalize_and_validate(fields, false);
  if (!issues.empty()) {
    throw std::runtime_error("workload record " + id + " does not validate: " +
                             issues.front().field + ": " + issues.front().message);
  }
  return fields;
}

std::string workload_digest(const Workload& workload, const CollectionSchema& cs) {
  return workload_digest(workload, cs, 0, workload.size(), nullptr);
}

std::string workload_digest(const Workload& workload, const CollectionSchema& cs, size_t begin,
                            size_t end, const std::function<void(size_t, Json&)>& patch) {
  // Sort indices by id rather than materialising every normalised record, so checking
  // does not double the memory the benchmark reports.
  std::vector<size_t> order(end - begin);
  std::iota(order.begin(), order.end(), begin);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return extract_id(workload.line(a)) < extract_id(workload.line(b));
  });
  Sha256 sha;
  for (size_t i : order) {
    const std::string_view line = workload.line(i);
    if (!patch) {
      sha.add_record(extract_id(line), expected_fields(line, cs).dump());
      continue;
    }
    Json fields = Json::parse(line);
    fields.erase("id");
    patch(i, fields);
    auto issues = cs.normalize_and_validate(fields, false);
    if (!issues.empty()) {
      throw std::runtime_error("patched workload record " + std::string(extract_id(line)) +
                               " does not validate: " + issues.front().field + ": " +
                               issues.front().message);
    }
    sha.add_record(extract_id(line), fields.dump());
  }
  return sha.hex();
}

}  // namespace lumbung::bench
