// lb_error_name, lb_version, lb_free and the helpers of capi_internal.h.
#include <cstdlib>
#include <cstring>

#include "capi/capi_internal.h"

#ifndef LUMBUNG_VERSION_STRING
#define LUMBUNG_VERSION_STRING "0.0.0"
#endif

namespace lumbung::capi {
namespace {

// Copies `text` into a fixed buffer, cut at a UTF-8 character boundary.
template <size_t N>
void copy_text(char (&dst)[N], const char* text) {
  size_t n = std::strlen(text);
  if (n >= N) {
    n = N - 1;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  }
  std::memcpy(dst, text, n);
  dst[n] = '\0';
}

}  // namespace

// The ABI numbers of lumbung.h. A switch without default: a new ErrorCode makes the
// compiler warn here until it gets its own (appended) number.
int to_c_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return LB_ERR_INVALID_ARGUMENT;
    case ErrorCode::kValidationFailed:
      return LB_ERR_VALIDATION_FAILED;
    case ErrorCode::kUnknownField:
      return LB_ERR_UNKNOWN_FIELD;
    case ErrorCode::kUnknownCollection:
      return LB_ERR_UNKNOWN_COLLECTION;
    case ErrorCode::kNotFound:
      return LB_ERR_NOT_FOUND;
    case ErrorCode::kAlreadyExists:
      return LB_ERR_ALREADY_EXISTS;
    case ErrorCode::kStatusRegression:
      return LB_ERR_STATUS_REGRESSION;
    case ErrorCode::kSchemaInvalid:
      return LB_ERR_SCHEMA_INVALID;
    case ErrorCode::kSchemaMismatch:
      return LB_ERR_SCHEMA_MISMATCH;
    case ErrorCode::kStorage:
      return LB_ERR_STORAGE;
    case ErrorCode::kCorrupt:
      return LB_ERR_CORRUPT;
    case ErrorCode::kMalformedJson:
      return LB_ERR_MALFORMED_JSON;
    case ErrorCode::kProtocol:
      return LB_ERR_PROTOCOL;
    case ErrorCode::kUnauthorized:
      return LB_ERR_UNAUTHORIZED;
    case ErrorCode::kForbidden:
      return LB_ERR_FORBIDDEN;
    case ErrorCode::kQuotaExceeded:  // no C code of its own (the C API's codes are fixed)
      return LB_ERR_FORBIDDEN;
    case ErrorCode::kOutOfScope:
      return LB_ERR_OUT_OF_SCOPE;
    case ErrorCode::kBodyTooLarge:
      return LB_ERR_BODY_TOO_LARGE;
    case ErrorCode::kBatchTooLarge:
      return LB_ERR_BATCH_TOO_LARGE;
    case ErrorCode::kJsonTooDeep:
      return LB_ERR_JSON_TOO_DEEP;
    case ErrorCode::kSeqGap:
      return LB_ERR_SEQ_GAP;
    case ErrorCode::kMethodNotAllowed:
      return LB_ERR_METHOD_NOT_ALLOWED;
    case ErrorCode::kWrongPassphrase:
      return LB_ERR_WRONG_PASSPHRASE;
    case ErrorCode::kRateLimited:
      return LB_ERR_RATE_LIMITED;
    case ErrorCode::kTransport:
      return LB_ERR_TRANSPORT;
    case ErrorCode::kCancelled:
      return LB_ERR_CANCELLED;
    case ErrorCode::kSignatureInvalid:  // no C code of its own (the C API fetches no schema)
      return LB_ERR_PROTOCOL;
    case ErrorCode::kInternal:
      return LB_ERR_INTERNAL;
  }
  return LB_ERR_INTERNAL;
}

// The C code of an error. A refused certificate or key is its own code here (the engine
// reports it as kTransport whose message starts "TLS:", lumbung/sync.h), because an app must
// not treat it like a lost signal and retry.
int c_code_of(const Error& e) {
  if (e.code() == ErrorCode::kTransport && std::strncmp(e.what(), "TLS:", 4) == 0) {
    return LB_ERR_TLS_REFUSED;
  }
  return to_c_code(e.code());
}

void set_error(lb_error* err, int code, const char* message, const char* field) {
  if (!err) return;
  err->code = code;
  copy_text(err->message, message);
  copy_text(err->field, field);
}

// A caller-owned copy for lb_free().
char* dup_string(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (!out) throw std::bad_alloc();
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  return out;
}

const char* need(const char* arg, const char* name) {
  if (!arg) throw Error(ErrorCode::kInvalidArgument, std::string(name) + " is NULL");
  return arg;
}

lumbung::Store& need_store(lb_store* s) {
  if (!s || !s->store) throw Error(ErrorCode::kInvalidArgument, "store is NULL");
  return *s->store;
}
lb_sync& need_sync(lb_sync* s) {
  if (!s) throw Error(ErrorCode::kInvalidArgument, "sync is NULL");
  return *s;
}

Json parse_object(const char* text, const char* name) {
  Json j = Json::parse(need(text, name));  // parse_error -> LB_ERR_MALFORMED_JSON
  if (!j.is_object()) {
    throw Error(ErrorCode::kInvalidArgument, std::string(name) + " must be a JSON object");
  }
  return j;
}

}  // namespace lumbung::capi

using lumbung::ErrorCode;
using lumbung::capi::to_c_code;

extern "C" {

const char* lb_error_name(int code) {
  if (code == LB_OK) return "ok";
  if (code == LB_ERR_TLS_REFUSED) return "tls_refused";
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    const auto c = static_cast<ErrorCode>(i);
    if (to_c_code(c) == code) return lumbung::error_code_name(c);
  }
  return "unknown";
}

const char* lb_version(void) { return LUMBUNG_VERSION_STRING; }

void lb_free(void* buffer) { std::free(buffer); }

}  // extern "C"
