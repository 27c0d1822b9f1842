// The one error vocabulary of Lumbung, shared by the engine, the server and the tools.
//
// Every failure the engine reports is a lumbung::Error carrying an ErrorCode from this
// closed set, a human message, and (for validation failures) the field at fault. The
// snake_case name of each code (error_code_name) is stable: it is what the HTTP API puts
// in the `code` of an application/problem+json body and what scripts may match on.
// Expected misses (a record that is not there) are std::optional, never an Error.
#pragma once

#include <stdexcept>
#include <string>

namespace lumbung {

enum class ErrorCode {
  kInvalidArgument,    // a caller passed something malformed (empty id, bad collection name)
  kValidationFailed,   // a record or patch breaks a schema rule; Error::field() names the field
  kUnknownField,       // a field the schema does not declare
  kUnknownCollection,  // a collection the schema does not declare
  kNotFound,           // the record to update or delete does not exist (or is deleted)
  kAlreadyExists,      // create with an id that is already taken
  kStatusRegression,   // a forward-only field asked to move backwards
  kSchemaInvalid,      // the schema file itself is malformed
  kSchemaMismatch,     // the store was made with another schema / device identity
  kStorage,            // SQLite reported an error (disk full, I/O, locked)
  kCorrupt,            // stored data or a change set cannot be decoded
  kMalformedJson,      // input is not JSON
  kProtocol,           // a change set or message is JSON but breaks the wire format
  kUnauthorized,       // missing or wrong credential
  kForbidden,          // credential valid but not allowed this call
  kOutOfScope,         // a record outside the device's registered regions
  kBodyTooLarge,       // a request body (compressed or inflated) beyond kMaxBodyBytes
  kBatchTooLarge,      // more ops in one push than kMaxBatchOps
  kJsonTooDeep,        // JSON nested deeper than kMaxJsonDepth
  kSeqGap,             // a push skipped sequence numbers; resend from the expected seq
  kMethodNotAllowed,   // an endpoint called with the wrong HTTP method
  kWrongPassphrase,    // the passphrase does not open this store's data key
  kRateLimited,        // too many requests; retry later
  kTransport,          // the link failed (timeout, refused, cut)
  kCancelled,          // the caller cancelled a long operation
  kQuotaExceeded,      // the server's space for this device's attachments is full (retry later)
  kSignatureInvalid,   // a schema document without the server's valid signature (sync.h)
  kInternal,           // a bug: an invariant did not hold (keep last: error_code_from_name)
};

// Stable snake_case name of a code, e.g. "validation_failed".
const char* error_code_name(ErrorCode code) noexcept;
// The code with that stable name, or kInternal if there is none (e.g. a newer server's).
ErrorCode error_code_from_name(const std::string& name) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, std::string field = {})
      : std::runtime_error(message), code_(code), field_(std::move(field)) {}

  ErrorCode code() const noexcept { return code_; }
  // The field a validation error is about; empty when the error is not about one field.
  const std::string& field() const noexcept { return field_; }

 private:
  ErrorCode code_;
  std::string field_;
};

}  // namespace lumbung
