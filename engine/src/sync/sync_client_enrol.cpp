// SyncClient's calls outside a sync: registration and token rotation (one request each,
// with the sync's retries: sync/request_loop.h).
#include "common/gzip.h"
#include "lumbung/error.h"
#include "lumbung/sync.h"
#include "sync/push_stream_send.h"
#include "sync/request_loop.h"

namespace lumbung {

std::string SyncClient::register_device(const std::string& code, const std::string& label) {
  const SyncOptions o;
  sync_detail::RequestLoop link(transport_, token_, o, {});
  Json body{{"code", code}, {"device_id", store_.device_id()}, {"label", label}};
  sync_detail::CallInfo info;
  Json j = link.call("POST", "/v1/devices/register", gzip::compress(body.dump()), nullptr, &info);
  token_ = j.at("token").get<std::string>();
  // Before the first push: whether it may stream (never to a server that did not say so).
  sync_detail::note_push_stream_server(store_, info);
  sync_detail::keep_schema_key(store_, j);  // schema_fetch.cpp
  if (auto it = j.find("scope"); it != j.end() && it->is_array()) {
    std::vector<std::string> regions;
    for (const auto& r : *it) {
      if (r.is_string()) regions.push_back(r.get<std::string>());
    }
    store_.set_regions(regions);
  }
  return token_;
}

std::string SyncClient::request_new_token() {
  const SyncOptions o;
  sync_detail::RequestLoop link(transport_, token_, o, {});
  Json j = link.call("POST", "/v1/devices/token/rotate", std::string());
  const auto it = j.find("token");
  if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw Error(ErrorCode::kProtocol, "token rotation answer has no token");
  }
  return it->get<std::string>();
}

void SyncClient::confirm_token(const std::string& next) {
  std::string current = std::move(token_);
  token_ = next;
  try {
    const SyncOptions o;
    sync_detail::RequestLoop link(transport_, token_, o, {});
    link.call("GET", "/v1/schema", std::string());  // any authenticated call promotes `next`
  } catch (...) {
    token_ = std::move(current);
    throw;
  }
}

}  // namespace lumbung
