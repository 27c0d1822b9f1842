// Checks the value of an attachment field: the reference a record holds to a file kept
// outside it (engine/include/lumbung/attachments.h). The bytes are checked where they are
// stored (the laptop's attachment store, the server's upload); here only the reference.
#include <string>

#include "lumbung/text.h"
#include "schema/validators.h"

namespace lumbung::validators {
namespace {

bool issue(std::vector<ValidationIssue>& issues, std::string_view prefix, const FieldDef& f,
           const char* reason, const std::string& message) {
  const std::string& label = f.label.empty() ? f.name : f.label;
  issues.push_back(ValidationIssue{std::string(prefix) + f.name, reason, label + ": " + message});
  return false;
}

bool lower_hex(std::string& s) {
  if (s.size() != 64) return false;
  for (char& c : s) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

bool validate_attachment(const FieldDef& f, Json& v, std::string_view prefix,
                         std::vector<ValidationIssue>& issues) {
  if (!v.is_object()) {
    return issue(issues, prefix, f, "wrong_type",
                 "must be an attachment {sha256, size, mime, name}; attach a file with "
                 "lumbung attach");
  }
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& k = it.key();
    if (k != "sha256" && k != "size" && k != "mime" && k != "name") {
      return issue(issues, prefix, f, "wrong_type", "unknown member \"" + k + "\"");
    }
  }
  auto sha = v.find("sha256");
  if (sha == v.end() || !sha->is_string() || !lower_hex(sha->get_ref<std::string&>())) {
    return issue(issues, prefix, f, "wrong_type", "sha256 must be 64 hex digits");
  }
  auto size = v.find("size");
  if (size == v.end() || !size->is_number_integer() || size->get<int64_t>() <= 0) {
    return issue(issues, prefix, f, "wrong_type", "size must be a positive whole number");
  }
  if (f.max_size && size->get<int64_t>() > *f.max_size) {
    return issue(issues, prefix, f, "too_large",
                 "the file has " + std::to_string(size->get<int64_t>()) + " bytes, at most " +
                     std::to_string(*f.max_size));
  }
  auto mime = v.find("mime");
  if (mime == v.end() || !mime->is_string()) {
    return issue(issues, prefix, f, "wrong_type", "mime must be text");
  }
  bool allowed = false;
  std::string list;
  for (const std::string& m : f.mime) {
    allowed = allowed || m == mime->get_ref<const std::string&>();
    list += (list.empty() ? "" : ", ") + m;
  }
  if (!allowed) {
    const std::string& got = mime->get_ref<const std::string&>();
    return issue(issues, prefix, f, "not_allowed",
                 "file type " + (find_text_fault(got) ? std::string("(unreadable)") : got) +
                     " is not allowed (allowed: " + list + ")");
  }
  if (auto name = v.find("name"); name != v.end()) {
    if (!name->is_string() || name->get_ref<const std::string&>().size() > 255 ||
        find_text_fault(name->get_ref<const std::string&>())) {
      return issue(issues, prefix, f, "wrong_type", "name must be text of at most 255 bytes");
    }
  }
  return true;
}

}  // namespace lumbung::validators
