// Who is calling: the role a bearer token carries and, for a device, its id and scope.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lumbung::server {

// Roles, from least to most trusted. A device pushes and pulls its scope; a reviewer reads
// records and progress and works the review queues; an admin may do everything.
enum class Role { kDevice = 0, kReviewer = 1, kAdmin = 2 };

inline const char* role_name(Role r) {
  switch (r) {
    case Role::kDevice:
      return "device";
    case Role::kReviewer:
      return "reviewer";
    case Role::kAdmin:
      return "admin";
  }
  return "device";
}

inline std::optional<Role> role_from(std::string_view s) {
  if (s == "device") return Role::kDevice;
  if (s == "reviewer") return Role::kReviewer;
  if (s == "admin") return Role::kAdmin;
  return std::nullopt;
}

struct Principal {
  Role role = Role::kDevice;
  std::string device_id;  // kDevice only
  // Region-code prefixes, digits only: a device's regions; a reviewer's regions (empty =
  // every region: the national office); unused for admins (every region).
  std::vector<std::string> scope;
  std::string label;
  bool revoked = false;
  int64_t expires_ms = 0;      // reviewer/admin tokens: 0 = never; devices: always 0
  std::string token_id;        // reviewer/admin: first 16 hex digits of the token hash
  std::string stored_hash;     // the token hash as the store holds it (for the final compare)
  bool pending_token = false;  // kDevice: the token is the rotated one not yet used
};

}  // namespace lumbung::server
