#include "api/problem.h"

#include <cstdio>

namespace lumbung::server {

std::string issue_detail(const ValidationIssue& issue) {
  // One row per reason the schema layer reports (engine/src/schema/validators.cpp).
  static const struct {
    const char* reason;
    const char* words;
  } kWords[] = {
      {"required", "is required"},
      {"wrong_type", "has the wrong JSON type"},
      {"too_long", "is too long"},
      {"out_of_range", "is out of range"},
      {"invalid_date", "is not a real date written YYYY-MM-DD"},
      {"invalid_timestamp", "is not a UTC time written YYYY-MM-DDTHH:MM:SSZ"},
      {"not_in_enum", "is not one of the schema's values"},
      {"duplicate_value", "lists a value more than once"},
      {"invalid_nik", "is not a valid NIK"},
      {"invalid_region_code", "is not a valid region code"},
      {"invalid_phone", "is not an Indonesian phone number"},
      {"nik_birth_date_mismatch", "does not match the birth date the NIK holds"},
      {"nik_gender_mismatch", "does not match the NIK (women have 40 added to the day)"},
      {"control_character", "contains a control character (text is one line, no controls)"},
      {"invalid_utf8", "contains bytes that are not UTF-8"},
      {"unknown_field", "is not a field of the collection"},
  };
  const char* words = "is not valid";
  for (const auto& w : kWords) {
    if (issue.reason == w.reason) words = w.words;
  }
  // Field paths are schema names ("heirs[1].nik"); an unknown member's name is the
  // sender's, so it is cut to a readable length.
  const std::string field =
      issue.field.size() > 64 ? issue.field.substr(0, 64) + "..." : issue.field;
  return "\"" + field + "\" " + words + " (" + issue.reason + ")";
}

int http_status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kMalformedJson:
      return 400;
    case ErrorCode::kProtocol:
      return 400;
    case ErrorCode::kJsonTooDeep:
      return 400;
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kWrongPassphrase:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kOutOfScope:
      return 403;
    // 403 as before it had a code of its own: a client that does not know the code treats
    // it as a refusal of this one file (not retried on the spot, tried at the next sync);
    // 507 would be a 5xx, which clients retry at once and then take for a dead link.
    case ErrorCode::kQuotaExceeded:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kAlreadyExists:
      return 409;
    case ErrorCode::kSeqGap:
      return 409;
    case ErrorCode::kSchemaMismatch:
      return 409;
    case ErrorCode::kBodyTooLarge:
      return 413;
    case ErrorCode::kBatchTooLarge:
      return 413;
    case ErrorCode::kValidationFailed:
      return 422;
    case ErrorCode::kUnknownField:
      return 422;
    case ErrorCode::kUnknownCollection:
      return 422;
    case ErrorCode::kStatusRegression:
      return 422;
    case ErrorCode::kRateLimited:
      return 429;
    case ErrorCode::kStorage:
      return 503;
    case ErrorCode::kTransport:
      return 502;
    case ErrorCode::kCancelled:
      return 500;
    case ErrorCode::kSignatureInvalid:  // a device's verdict on an answer, never the server's
      return 500;
    case ErrorCode::kSchemaInvalid:
      return 500;
    case ErrorCode::kCorrupt:
      return 500;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

namespace {
const char* title_for(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}
}  // namespace

Response problem_response(ErrorCode code, const std::string& detail, const Json& extra) {
  const int status = http_status_for(code);
  Json j = Json::object();
  j["type"] = std::string("urn:lumbung:error:") + error_code_name(code);
  j["title"] = title_for(status);
  j["status"] = status;
  j["code"] = error_code_name(code);
  j["detail"] = detail;
  if (extra.is_object()) {
    for (const auto& [k, v] : extra.items()) j[k] = v;
  }
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (code == ErrorCode::kMethodNotAllowed && extra.contains("allow")) {
    r.headers["Allow"] = extra["allow"].get<std::string>();
  }
  if (code == ErrorCode::kRateLimited && extra.contains("retry_after_s")) {
    r.headers["Retry-After"] = std::to_string(extra["retry_after_s"].get<int64_t>());
  }
  return r;
}

Response response_for_current_exception() {
  try {
    throw;
  } catch (const ProblemError& e) {
    return problem_response(e.code(), e.what(), e.extra());
  } catch (const Error& e) {
    // Storage and internal failures: the detail could name tables or paths, not data, but
    // clients gain nothing from it; log it and send a generic message.
    const int status = http_status_for(e.code());
    if (status >= 500) {
      std::fprintf(stderr, "lumbung-server: %s error: %s\n", error_code_name(e.code()), e.what());
      return problem_response(e.code(), e.code() == ErrorCode::kStorage
                                            ? "the database is unavailable; retry later"
                                            : "internal error");
    }
    Json extra = Json::object();
    if (!e.field().empty()) extra["field"] = e.field();
    return problem_response(e.code(), e.what(), extra);
  } catch (const Json::parse_error& e) {
    return problem_response(ErrorCode::kMalformedJson,
                            "not valid JSON (at byte " + std::to_string(e.byte) + ")");
  } catch (const Json::type_error&) {
    return problem_response(ErrorCode::kInvalidArgument, "a member has the wrong JSON type");
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "lumbung-server: out of memory handling a request\n");
    return problem_response(ErrorCode::kInternal, "internal error");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lumbung-server: unexpected exception: %s\n", e.what());
    return problem_response(ErrorCode::kInternal, "internal error");
  } catch (...) {
    std::fprintf(stderr, "lumbung-server: unexpected non-standard exception\n");
    return problem_response(ErrorCode::kInternal, "internal error");
  }
}

}  // namespace lumbung::server
