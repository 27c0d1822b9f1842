#include "common/exit_codes.h"

namespace lumbung::cli {

int exit_code_for(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return kExitUsage;
    case ErrorCode::kValidationFailed:
    case ErrorCode::kUnknownField:
    case ErrorCode::kStatusRegression:
      return kExitRefused;
    case ErrorCode::kNotFound:
      return kExitNotFound;
    case ErrorCode::kTransport:
    case ErrorCode::kRateLimited:
      return kExitNetwork;
    case ErrorCode::kUnauthorized:
    case ErrorCode::kForbidden:
    case ErrorCode::kOutOfScope:
    case ErrorCode::kWrongPassphrase:
      return kExitAuth;
    case ErrorCode::kCancelled:
      return kExitCancelled;
    default:
      return kExitError;
  }
}

}  // namespace lumbung::cli
