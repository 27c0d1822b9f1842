// Schema documents: parsing, the fingerprint, and the CollectionSchema entry points.
//
// SCHEMA FILE FORMAT (also in docs/ARCHITECTURE.md "Schema file"; schema/enrolment.schema.json
// is the shipped example). A JSON object; any member not listed here is an error.
//
//   { "schema": "bpjs-enrolment",        // name, non-empty
//     "version": 1,                      // integer >= 1
//     "description": "...",              // optional, documentation only
//     "collections": [                   // at least one
//       { "name": "enrolment",           // [a-z][a-z0-9_]*, unique
//         "description": "...",          // optional
//         "scope_field": "village_code", // optional; a region_code field
//         "natural_key": "nik",          // optional; a scalar field
//         "fields": [                    // 1-256 fields, unique names, never "id"
//           { "name": "nik",             // [a-z][a-z0-9_]*
//             "type": "nik",             // string integer number boolean date timestamp enum
//                                        // enum_set nik region_code phone object_list
//                                        // attachment
//             "label": "NIK",            // optional; the name messages use (default: name)
//             "description": "...",      // optional
//             "required": true,          // optional, default false
//             "personal": true,          // optional, default false (UU 27/2022 personal data)
//             "policy": "needs_review",  // optional: lww (default) | forward_only | needs_review;
//                                        // top-level fields only; forward_only needs an enum
//             "values": ["L", "P"],      // enum / enum_set (<= 64 for enum_set), rank order
//             "min": 0, "max": 10,       // integer / number bounds, integers
//             "max_length": 100,         // string: most characters
//             "level": "desa",           // region_code: provinsi | kabupaten | kecamatan | desa
//             "item_fields": [ ... ],    // object_list: member fields (no nesting, no policy)
//             "mime": ["image/jpeg"],    // attachment: allowed MIME types (required)
//             "max_size": 1048576 }      // attachment: most bytes (required, 1 .. 64 MiB)
//         ] } ] }
//
// "level" has no FieldDef member of its own: it is kept in FieldDef::max_length as the
// number of digits the code must have (2, 4, 6, 10).
//
// The fingerprint is the SHA-256 (hex) of the document's canonical dump: nlohmann's dump()
// with no indentation, object members sorted by key. Reformatting the file does not
// change it; any change of content (labels included) does.
#include "lumbung/schema.h"

#include <functional>
#include <string_view>

#include <openssl/evp.h>

#include <climits>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include "lumbung/error.h"
#include "schema/validators.h"

namespace lumbung {
namespace {

constexpr size_t kMaxFields = 256;        // validate_object tracks presence in 4 words
constexpr size_t kMaxEnumSetValues = 64;  // validate_enum_set tracks members in 1 word

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::kSchemaInvalid, "invalid schema: " + where + ": " + what);
}

void check_members(const Json& object, std::initializer_list<const char*> allowed,
                   const std::string& where) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool known = false;
    for (const char* name : allowed) known = known || it.key() == name;
    if (!known) fail(where, "unknown member \"" + it.key() + "\"");
  }
}

bool is_identifier(const std::string& s) {
  if (s.empty() || s.size() > 64 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

const Json* member(const Json& object, const char* name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

std::string string_member(const Json& object, const char* name, const std::string& where,
                          bool required) {
  const Json* v = member(object, name);
  if (!v) {
    if (required) fail(where, std::string("\"") + name + "\" is missing");
    return {};
  }
  if (!v->is_string() || v->get_ref<const std::string&>().empty()) {
    fail(where, std::string("\"") + name + "\" must be a non-empty string");
  }
  return v->get<std::string>();
}

bool bool_member(const Json& object, const char* name, const std::string& where) {
  const Json* v = member(object, name);
  if (!v) return false;
  if (!v->is_boolean()) fail(where, std::string("\"") + name + "\" must be true or false");
  return v->get<bool>();
}

FieldType parse_type(const std::string& s, const std::string& where) {
  static const std::pair<const char*, FieldType> kTypes[] = {
      {"string", FieldType::kString},
      {"integer", FieldType::kInteger},
      {"number", FieldType::kNumber},
      {"boolean", FieldType::kBoolean},
      {"date", FieldType::kDate},
      {"timestamp", FieldType::kTimestamp},
      {"enum", FieldType::kEnum},
      {"enum_set", FieldType::kEnumSet},
      {"nik", FieldType::kNik},
      {"region_code", FieldType::kRegionCode},
      {"phone", FieldType::kPhone},
      {"object_list", FieldType::kObjectList},
      {"attachment", FieldType::kAttachment},
  };
  for (const auto& [name, type] : kTypes) {
    if (s == name) return type;
  }
  fail(where, "unknown type \"" + s +
                  "\" (known: string, integer, number, boolean, date, timestamp, enum, "
                  "enum_set, nik, region_code, phone, object_list, attachment)");
}

MergePolicy parse_policy(const std::string& s, const std::string& where) {
  for (MergePolicy p :
       {MergePolicy::kLastWriterWins, MergePolicy::kForwardOnly, MergePolicy::kNeedsReview}) {
    if (s == merge_policy_name(p)) return p;
  }
  fail(where, "unknown policy \"" + s + "\" (known: lww, forward_only, needs_review)");
}

std::optional<int64_t> int_member(const Json& object, const char* name, const std::string& where) {
  const Json* v = member(object, name);
  if (!v) return std::nullopt;
  if (!v->is_number_integer() ||
      (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
    fail(where, std::string("\"") + name + "\" must be an integer");
  }
  return v->get<int64_t>();
}

bool lower_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::vector<FieldDef> parse_fields(const Json& list, const std::string& where, bool top_level);

// "mime" and "max_size" of an attachment field (and nowhere else).
void parse_attachment(const Json& j, const std::string& where, bool top_level, FieldDef& f) {
  const bool att = f.type == FieldType::kAttachment;
  const Json* mime = member(j, "mime");
  if ((mime || member(j, "max_size")) && !att) {
    fail(where, "\"mime\"/\"max_size\" apply to attachment fields only");
  }
  if (!att) return;
  // The server finds the files records refer to in top-level fields only (its collector).
  if (!top_level) fail(where, "an attachment cannot be a member of an object_list");
  if (!mime || !mime->is_array() || mime->empty()) {
    fail(where, "an attachment field needs \"mime\": a non-empty array of MIME types");
  }
  for (const Json& m : *mime) {
    if (!m.is_string() || m.get_ref<const std::string&>().find('/') == std::string::npos) {
      fail(where, "\"mime\" must list MIME types such as \"image/jpeg\"");
    }
    f.mime.push_back(m.get<std::string>());
  }
  f.max_size = int_member(j, "max_size", where);
  // Bytes are held whole in memory while sealed and checked (attachments.h).
  if (!f.max_size || *f.max_size <= 0 || *f.max_size > 64 * 1024 * 1024) {
    fail(where, "an attachment field needs \"max_size\": bytes, 1 to 67108864");
  }
  if (f.policy == MergePolicy::kForwardOnly) fail(where, "an attachment cannot be forward_only");
}

FieldDef parse_field(const Json& j, const std::string& at, bool top_level) {
  if (!j.is_object()) fail(at, "a field must be an object");
  std::string where = at;
  if (const Json* n = member(j, "name"); n && n->is_string()) {
    where += " (" + n->get<std::string>() + ")";
  }
  check_members(j,
                {"name", "type", "label", "description", "required", "personal", "policy", "values",
                 "min", "max", "max_length", "level", "item_fields", "mime", "max_size"},
                where);
  FieldDef f;
  f.name = string_member(j, "name", where, true);
  if (!is_identifier(f.name)) {
    fail(where, "field name \"" + f.name + "\" must be lower-case letters, digits and _");
  }
  if (f.name == "id") fail(where, "\"id\" is reserved for the record id");
  f.type = parse_type(string_member(j, "type", where, true), where);
  f.label = string_member(j, "label", where, false);
  if (f.label.empty()) f.label = f.name;
  if (const Json* d = member(j, "description"); d && !d->is_string()) {
    fail(where, "\"description\" must be a string");
  }
  f.required = bool_member(j, "required", where);
  f.personal = bool_member(j, "personal", where);
  if (member(j, "policy")) {
    if (!top_level) fail(where, "\"policy\" applies to top-level fields only");
    f.policy = parse_policy(string_member(j, "policy", where, true), where);
  }

  const bool is_enum = f.type == FieldType::kEnum || f.type == FieldType::kEnumSet;
  if (const Json* values = member(j, "values")) {
    if (!is_enum) fail(where, "\"values\" applies to enum and enum_set fields only");
    if (!values->is_array() || values->empty()) {
      fail(where, "\"values\" must be a non-empty array of strings");
    }
    for (const Json& v : *values) {
      if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
        fail(where, "\"values\" must be a non-empty array of strings");
      }
      const std::string& s = v.get_ref<const std::string&>();
      for (const std::string& seen : f.values) {
        // Records match values case-insensitively, so "l" and "L" would be ambiguous.
        if (lower_equal(seen, s)) fail(where, "value \"" + s + "\" appears twice");
      }
      f.values.push_back(s);
    }
  } else if (is_enum) {
    fail(where, "an enum field needs \"values\"");
  }
  if (f.type == FieldType::kEnumSet && f.values.size() > kMaxEnumSetValues) {
    fail(where, "an enum_set may have at most 64 values");
  }
  if (f.policy == MergePolicy::kForwardOnly && f.type != FieldType::kEnum) {
    fail(where, "policy forward_only needs an enum field (its values in rank order)");
  }

  const bool numeric = f.type == FieldType::kInteger || f.type == FieldType::kNumber;
  f.min = int_member(j, "min", where);
  f.max = int_member(j, "max", where);
  if ((f.min || f.max) && !numeric) {
    fail(where, "\"min\"/\"max\" apply to integer and number fields only");
  }
  if (f.min && f.max && *f.min > *f.max) fail(where, "\"min\" is greater than \"max\"");

  if (std::optional<int64_t> len = int_member(j, "max_length", where)) {
    if (f.type != FieldType::kString) fail(where, "\"max_length\" applies to string fields only");
    if (*len <= 0) fail(where, "\"max_length\" must be positive");
    f.max_length = static_cast<size_t>(*len);
  }
  if (member(j, "level")) {
    if (f.type != FieldType::kRegionCode) {
      fail(where, "\"level\" applies to region_code fields only");
    }
    std::string level = string_member(j, "level", where, true);
    if (level == "provinsi") {
      f.max_length = 2;
    } else if (level == "kabupaten") {
      f.max_length = 4;
    } else if (level == "kecamatan") {
      f.max_length = 6;
    } else if (level == "desa") {
      f.max_length = 10;
    } else {
      fail(where, "unknown level \"" + level + "\" (known: provinsi, kabupaten, kecamatan, desa)");
    }
  }

  if (const Json* items = member(j, "item_fields")) {
    if (f.type != FieldType::kObjectList) {
      fail(where, "\"item_fields\" applies to object_list fields only");
    }
    if (!top_level) fail(where, "an object_list cannot be nested in another");
    f.item_fields = parse_fields(*items, where + ".item_fields", false);
  } else if (f.type == FieldType::kObjectList) {
    fail(where, "an object_list field needs \"item_fields\"");
  }
  parse_attachment(j, where, top_level, f);
  return f;
}

std::vector<FieldDef> parse_fields(const Json& list, const std::string& where, bool top_level) {
  if (!list.is_array() || list.empty()) fail(where, "must be a non-empty array of fields");
  if (list.size() > kMaxFields) fail(where, "at most 256 fields");
  std::vector<FieldDef> fields;
  fields.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    FieldDef f = parse_field(list[i], where + "[" + std::to_string(i) + "]", top_level);
    for (const FieldDef& other : fields) {
      if (other.name == f.name) fail(where, "field \"" + f.name + "\" is declared twice");
    }
    fields.push_back(std::move(f));
  }
  return fields;
}

const FieldDef* find(const std::vector<FieldDef>& fields, std::string_view name) {
  for (const FieldDef& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::kInternal, "SHA-256 of the schema document failed");
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace

const char* merge_policy_name(MergePolicy p) noexcept {
  switch (p) {
    case MergePolicy::kLastWriterWins:
      return "lww";
    case MergePolicy::kForwardOnly:
      return "forward_only";
    case MergePolicy::kNeedsReview:
      return "needs_review";
  }
  return "lww";
}

int FieldDef::rank(const Json& value) const {
  if (!value.is_string()) return -1;
  const std::string& s = value.get_ref<const std::string&>();
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] == s) return static_cast<int>(i);
  }
  return -1;
}

const FieldDef* CollectionSchema::field(std::string_view name) const { return find(fields_, name); }

namespace {

// A cheap digest of a value, to tell whether normalising changed it without copying it
// (strings, the common case, hash in place).
size_t value_digest(const Json& v) {
  if (v.is_string()) return std::hash<std::string_view>{}(v.get_ref<const std::string&>());
  if (v.is_array()) {
    size_t h = 0x9e3779b97f4a7c15ULL;
    for (const Json& e : v) h = (h ^ value_digest(e)) * 0x100000001b3ULL;
    return h;
  }
  return std::hash<std::string>{}(v.dump());
}

}  // namespace

std::vector<ValidationIssue> CollectionSchema::normalize_and_validate(
    Json& fields, bool partial, std::vector<std::string>* normalized) const {
  std::vector<ValidationIssue> issues;
  if (!fields.is_object()) {
    issues.push_back(ValidationIssue{"", "wrong_type",
                                     "a " + name_ + " record must be a JSON object of fields"});
    return issues;
  }
  std::vector<size_t> before;
  if (normalized) {
    before.reserve(fields.size());
    for (const auto& [_, v] : fields.items()) before.push_back(value_digest(v));
  }
  validators::validate_object(fields_, name_, fields, partial, {}, issues);
  if (normalized && issues.empty()) {
    size_t i = 0;
    for (const auto& [name, v] : fields.items()) {
      if (value_digest(v) != before[i++]) normalized->push_back(name);
    }
  }
  return issues;
}

Json CollectionSchema::normalize_value(const FieldDef& field, const Json& value) const {
  Json copy = value;
  if (copy.is_null()) return copy;
  std::vector<ValidationIssue> ignored;  // an invalid argument simply matches nothing
  validators::validate_value(field, copy, {}, ignored);
  return copy;
}

std::shared_ptr<const Schema> Schema::parse(const Json& document) {
  const std::string where = "document";
  if (!document.is_object()) fail(where, "must be a JSON object");
  // "changelog": the typed steps from version 1 (lumbung/schema_versions.h checks them).
  check_members(document, {"schema", "version", "description", "collections", "changelog"}, where);
  auto schema = std::make_shared<Schema>();
  schema->name_ = string_member(document, "schema", where, true);
  if (const Json* log = member(document, "changelog")) schema->changelog_ = *log;
  std::optional<int64_t> version = int_member(document, "version", where);
  if (!version) fail(where, "\"version\" is missing");
  if (*version < 1 || *version > INT_MAX) fail(where, "\"version\" must be a positive integer");
  schema->version_ = static_cast<int>(*version);
  if (const Json* d = member(document, "description"); d && !d->is_string()) {
    fail(where, "\"description\" must be a string");
  }
  const Json* collections = member(document, "collections");
  if (!collections || !collections->is_array() || collections->empty()) {
    fail(where, "\"collections\" must be a non-empty array");
  }

  for (size_t i = 0; i < collections->size(); ++i) {
    const Json& c = (*collections)[i];
    std::string at = "collections[" + std::to_string(i) + "]";
    if (!c.is_object()) fail(at, "a collection must be an object");
    if (const Json* n = member(c, "name"); n && n->is_string()) {
      at += " (" + n->get<std::string>() + ")";
    }
    check_members(c, {"name", "description", "scope_field", "natural_key", "fields"}, at);
    CollectionSchema cs;
    cs.name_ = string_member(c, "name", at, true);
    if (!is_identifier(cs.name_)) {
      fail(at, "collection name must be lower-case letters, digits and _");
    }
    if (schema->collection(cs.name_)) fail(at, "collection \"" + cs.name_ + "\" is declared twice");
    if (const Json* d = member(c, "description"); d && !d->is_string()) {
      fail(at, "\"description\" must be a string");
    }
    const Json* fields = member(c, "fields");
    if (!fields) fail(at, "\"fields\" is missing");
    cs.fields_ = parse_fields(*fields, at + ".fields", true);

    cs.scope_field_ = string_member(c, "scope_field", at, false);
    if (!cs.scope_field_.empty()) {
      const FieldDef* f = find(cs.fields_, cs.scope_field_);
      if (!f) fail(at, "scope_field \"" + cs.scope_field_ + "\" is not a field");
      // Not necessarily required: a record without one replicates to no device's region
      // (the store decides); the enrolment schema does make its village_code required.
      if (f->type != FieldType::kRegionCode) {
        fail(at, "scope_field \"" + cs.scope_field_ + "\" must be a region_code field");
      }
    }
    cs.natural_key_ = string_member(c, "natural_key", at, false);
    if (!cs.natural_key_.empty()) {
      const FieldDef* f = find(cs.fields_, cs.natural_key_);
      if (!f) fail(at, "natural_key \"" + cs.natural_key_ + "\" is not a field");
      if (f->type == FieldType::kEnumSet || f->type == FieldType::kObjectList ||
          f->type == FieldType::kBoolean || f->type == FieldType::kAttachment) {
        fail(at, "natural_key \"" + cs.natural_key_ + "\" must be a single scalar value");
      }
    }
    // The NIK cross-check reads "gender" as the KTP codes L/P (validators.h); a gender
    // enum with other codes would silently never be checked.
    const FieldDef* nik = find(cs.fields_, "nik");
    const FieldDef* gender = find(cs.fields_, "gender");
    if (nik && nik->type == FieldType::kNik && gender && gender->type == FieldType::kEnum &&
        (gender->rank(Json("L")) < 0 || gender->rank(Json("P")) < 0)) {
      fail(at, "field \"gender\" next to a NIK must have the KTP values \"L\" and \"P\"");
    }
    schema->collections_.push_back(std::move(cs));
  }
  schema->fingerprint_ = sha256_hex(document.dump());
  return schema;
}

std::shared_ptr<const Schema> Schema::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kSchemaInvalid, "cannot read schema file " + path);
  std::stringstream text;
  text << in.rdbuf();
  Json document;
  try {
    document = Json::parse(text.str());
  } catch (const Json::parse_error& e) {
    throw Error(ErrorCode::kSchemaInvalid,
                "schema file " + path + " is not valid JSON: " + std::string(e.what()));
  }
  return parse(document);
}

const CollectionSchema* Schema::collection(std::string_view name) const {
  for (const CollectionSchema& c : collections_) {
    if (c.name_ == name) return &c;
  }
  return nullptr;
}

}  // namespace lumbung
