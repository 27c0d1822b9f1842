#include "store/sealer.h"

#include "common/encoding.h"
#include "crypto/crypto.h"
#include "lumbung/error.h"
#include "lumbung/schema.h"

namespace lumbung::server::sqlite_detail {
namespace {

constexpr std::string_view kPrefix = "s1:";

std::string aad(std::string_view where, std::string_view id) {
  std::string out(where);
  out.push_back('\0');
  out.append(id);
  return out;
}

}  // namespace

Sealer::Sealer(std::string data_key, std::string index_key,
               std::map<std::string, std::set<std::string>> personal)
    : data_key_(std::move(data_key)),
      index_key_(std::move(index_key)),
      personal_(std::make_shared<const std::map<std::string, std::set<std::string>>>(
          std::move(personal))) {}

void Sealer::add_personal(const std::map<std::string, std::set<std::string>>& more) {
  std::lock_guard<std::mutex> lock(personal_mu_);
  auto next = std::make_shared<std::map<std::string, std::set<std::string>>>(*personal_);
  for (const auto& [col, names] : more) (*next)[col].insert(names.begin(), names.end());
  personal_ = std::move(next);
}

Sealer::Doc Sealer::split_doc(const std::string& col, const std::string& id,
                              std::string_view doc) const {
  Json j = Json::parse(doc, nullptr, false);
  if (!j.is_object()) throw Error(ErrorCode::kCorrupt, "record " + id + ": doc is not JSON");
  Doc out;
  std::shared_ptr<const std::map<std::string, std::set<std::string>>> personal;
  {
    std::lock_guard<std::mutex> lock(personal_mu_);
    personal = personal_;
  }
  const auto it = personal->find(col);
  Json sealed = Json::object();
  if (it != personal->end()) {
    for (const auto& name : it->second) {
      auto f = j.find(name);
      if (f == j.end()) continue;
      sealed[name] = std::move(*f);
      j.erase(f);
    }
  }
  out.clear = j.dump();
  if (!sealed.empty()) {
    out.sealed = std::string(kPrefix) +
                 crypto::base64(crypto::seal(data_key_, sealed.dump(),
                                             aad("records", col + std::string(1, '\0') + id)));
  }
  return out;
}

Json Sealer::join_doc(const std::string& col, const std::string& id, std::string_view clear,
                      const std::optional<std::string_view>& sealed) const {
  if (!sealed) {
    Json j = Json::parse(clear, nullptr, false);
    if (!j.is_object()) throw Error(ErrorCode::kCorrupt, "record " + id + ": doc is not JSON");
    return j;
  }
  const auto raw =
      is_sealed(*sealed) ? crypto::unbase64(sealed->substr(kPrefix.size())) : std::nullopt;
  const auto plain =
      raw ? crypto::open(data_key_, *raw, aad("records", col + std::string(1, '\0') + id))
          : std::nullopt;
  Json fields = plain ? Json::parse(*plain, nullptr, false) : Json();
  Json j = Json::parse(clear, nullptr, false);
  if (!fields.is_object() || !j.is_object()) {
    throw Error(ErrorCode::kCorrupt,
                "record " + id + ": its sealed fields do not open under this server's data key");
  }
  for (auto& [k, v] : fields.items()) j[k] = std::move(v);
  return j;
}

std::string Sealer::join_doc_text(const std::string& col, const std::string& id,
                                  std::string_view clear,
                                  const std::optional<std::string_view>& sealed) const {
  // Our own JSON.dump() text: an object is "{...}" with no space around.
  auto is_object = [](std::string_view t) {
    return t.size() >= 2 && t.front() == '{' && t.back() == '}';
  };
  if (!is_object(clear)) throw Error(ErrorCode::kCorrupt, "record " + id + ": doc is not JSON");
  if (!sealed) return std::string(clear);
  const auto raw =
      is_sealed(*sealed) ? crypto::unbase64(sealed->substr(kPrefix.size())) : std::nullopt;
  const auto plain =
      raw ? crypto::open(data_key_, *raw, aad("records", col + std::string(1, '\0') + id))
          : std::nullopt;
  if (!plain || !is_object(*plain)) {
    throw Error(ErrorCode::kCorrupt,
                "record " + id + ": its sealed fields do not open under this server's data key");
  }
  if (plain->size() == 2) return std::string(clear);
  if (clear.size() == 2) return *plain;
  std::string out(clear.substr(0, clear.size() - 1));
  out += ',';
  out.append(*plain, 1, std::string::npos);
  return out;
}

std::string Sealer::blind(const std::string& col, const std::string& key) const {
  return hex_encode(crypto::hmac_sha256(index_key_, col + std::string(1, '\0') + key));
}

std::string Sealer::seal_text(std::string_view where, std::string_view row_id,
                              std::string_view text) const {
  if (text.empty() || text == "null") return std::string(text);
  return std::string(kPrefix) + crypto::base64(crypto::seal(data_key_, text, aad(where, row_id)));
}

std::string Sealer::open_text(std::string_view where, std::string_view row_id,
                              std::string_view stored) const {
  if (stored.empty() || stored == "null") return std::string(stored);
  const auto raw =
      is_sealed(stored) ? crypto::unbase64(stored.substr(kPrefix.size())) : std::nullopt;
  auto plain = raw ? crypto::open(data_key_, *raw, aad(where, row_id)) : std::nullopt;
  if (!plain) {
    throw Error(ErrorCode::kCorrupt, std::string(where) + " of " + std::string(row_id) +
                                         " does not open under this server's data key");
  }
  return std::move(*plain);
}

}  // namespace lumbung::server::sqlite_detail
