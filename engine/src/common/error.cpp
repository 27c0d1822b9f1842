#include "lumbung/error.h"

namespace lumbung {

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kValidationFailed:
      return "validation_failed";
    case ErrorCode::kUnknownField:
      return "unknown_field";
    case ErrorCode::kUnknownCollection:
      return "unknown_collection";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kStatusRegression:
      return "status_regression";
    case ErrorCode::kSchemaInvalid:
      return "schema_invalid";
    case ErrorCode::kSchemaMismatch:
      return "schema_mismatch";
    case ErrorCode::kStorage:
      return "storage_error";
    case ErrorCode::kCorrupt:
      return "corrupt";
    case ErrorCode::kMalformedJson:
      return "malformed_json";
    case ErrorCode::kProtocol:
      return "protocol_error";
    case ErrorCode::kUnauthorized:
      return "unauthorized";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kOutOfScope:
      return "out_of_scope";
    case ErrorCode::kBodyTooLarge:
      return "body_too_large";
    case ErrorCode::kBatchTooLarge:
      return "batch_too_large";
    case ErrorCode::kJsonTooDeep:
      return "json_too_deep";
    case ErrorCode::kSeqGap:
      return "seq_gap";
    case ErrorCode::kMethodNotAllowed:
      return "method_not_allowed";
    case ErrorCode::kWrongPassphrase:
      return "wrong_passphrase";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kTransport:
      return "transport_error";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kQuotaExceeded:
      return "quota_exceeded";
    case ErrorCode::kSignatureInvalid:
      return "signature_invalid";
    case ErrorCode::kInternal:
      return "internal_error";
  }
  return "internal_error";
}

ErrorCode error_code_from_name(const std::string& name) noexcept {
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    if (name == error_code_name(code)) return code;
  }
  return ErrorCode::kInternal;
}

}  // namespace lumbung
