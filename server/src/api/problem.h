// The ONE place exceptions become HTTP answers: application/problem+json (RFC 9457)
//   {"type":"urn:lumbung:error:<code>","title":"...","status":N,"code":"<code>",
//    "detail":"human message", ...extra members such as "seq", "field", "expected_seq"}
// lumbung::Error maps by its code; a ProblemError adds extra members; nlohmann parse errors
// are malformed_json; anything else is a 500 internal_error whose what() is logged (without
// request data) but never sent.
#pragma once

#include <string>

#include "api/http_types.h"
#include "lumbung/error.h"
#include "lumbung/schema.h"

namespace lumbung::server {

// An Error with extra problem members (e.g. {"seq": 12, "field": "nik"}).
class ProblemError : public Error {
 public:
  ProblemError(ErrorCode code, const std::string& message, Json extra, std::string field = {})
      : Error(code, message, std::move(field)), extra_(std::move(extra)) {}
  const Json& extra() const { return extra_; }

 private:
  Json extra_;
};

// The detail the server gives for a schema issue: the field, what is wrong in general
// words, and the reason code, e.g. `"birth_date" is not a real date written YYYY-MM-DD
// (invalid_date)`. Never the submitted value: the engine's own message quotes it for the
// officer at the keyboard, but an answer travels through proxies and logs and is kept in
// the refused queue, and the value is often personal data (a NIK, a name).
std::string issue_detail(const ValidationIssue& issue);

int http_status_for(ErrorCode code);
Response problem_response(ErrorCode code, const std::string& detail, const Json& extra = Json());
// Call only inside a catch block: maps the exception in flight.
Response response_for_current_exception();

}  // namespace lumbung::server
