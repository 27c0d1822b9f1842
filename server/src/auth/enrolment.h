// Devices, enrolment codes and staff tokens: the admin side of authentication.
//
// The admin makes a one-time enrolment code carrying a scope (region-code prefixes); a
// field laptop registers with it under the device id it made offline and receives its
// token, once. Codes and tokens are stored only as SHA-256 hashes. Thread-safe.
#pragma once

#include <string>

#include "auth/principal.h"
#include "lumbung/clock.h"
#include "lumbung/schema.h"
#include "store/server_store.h"
#include "sync/sync_service.h"

namespace lumbung::server {

class Enrolment {
 public:
  Enrolment(ServerStore& store, SyncService& sync, WallClock& wall)
      : store_(store), sync_(sync), wall_(wall) {}

  // On an empty store: creates the first admin token and returns it (the only time it is
  // ever visible); otherwise "".
  std::string bootstrap_admin();

  // body {"scope":["74.02", ...], "label":"...", "expires_in_hours":72} -> {"code",...}
  Json create_code(const Json& body);
  // body {"code","device_id","label"} -> {"device_id","token","scope"}. Throws
  // kUnauthorized (unknown code), kForbidden (used or expired code), kAlreadyExists
  // (device id taken), kInvalidArgument.
  Json register_device(const Json& body);
  // body {"role":"reviewer"|"admin","label":"..."} -> {"token","role","label"}
  Json create_token(const Json& body);
  Json list_devices();
  Json revoke_device(const std::string& device_id);

 private:
  ServerStore& store_;
  SyncService& sync_;
  WallClock& wall_;
};

}  // namespace lumbung::server
