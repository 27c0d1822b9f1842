// The message catalogue of the command-line tools: Bahasa Indonesia by default (field
// officers read Indonesian), English with --lang en or LUMBUNG_LANG=en.
//
// Every sentence a person reads goes through tr(key, {{"name", value}}), which picks the
// language and fills {name} placeholders. The catalogue itself is one table in i18n.cpp,
// Indonesian beside English, so a translator sees both. A missing key prints the key,
// which the tests would notice.
//
// Validation issues come from the engine in English with a stable reason code; they are
// translated by reason here (issue_text), and fall back to the engine's English message
// for a reason the catalogue does not know.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>

#include "lumbung/error.h"
#include "lumbung/schema.h"

namespace lumbung::cli {

enum class Lang { kIndonesian, kEnglish };

void set_language(Lang lang);
Lang language();
// "id"/"en" (also "in", "indonesia", "english"); nullopt-like false if unknown.
bool parse_language(const std::string& text, Lang* out);
// Picks the language from --lang (if given) else LUMBUNG_LANG else Indonesian. Throws
// Error(kInvalidArgument) for an unknown language.
void choose_language(const std::string& flag_value);

using Params = std::initializer_list<std::pair<std::string, std::string>>;
std::string tr(const std::string& key, Params params = {});

// A validation issue in the current language. `record` (optional) is the record being
// checked, used to explain cross-field problems (NIK against birth date and gender).
std::string issue_text(const ValidationIssue& issue, const CollectionSchema& schema,
                       const Json* record = nullptr);

// i18n_values.cpp: an issue told with the value typed and what would be right (an
// impossible date, a letter in a NIK, an unknown choice), in either language; nullopt when
// `record` does not hold the value (issue_text then uses its general sentence).
std::optional<std::string> value_issue_text(const ValidationIssue& issue, const FieldDef& f,
                                            const std::string& label, const Json* record);
// "1980-11-19" -> "19-11-1980", the way officers write dates; other text as it is.
std::string officer_date(const std::string& iso);
// A forward-only field asked to move back: both values and the order it moves in.
std::string status_regression_text(const FieldDef& f, const Json& old_value, const Json& new_value);

// A field's value as a person reads it (i18n_labels.cpp): an enum value by its name in the
// current language ("P" -> "Perempuan"), enum sets as a list of names, a schema timestamp in
// local time with its zone, a date as DD-MM-YYYY, heirs one per "; ". `compact` (tables):
// programs by their short names. Values with no name are shown as stored.
std::string value_display(const FieldDef& f, const Json& v, bool compact = false);

// An Error as a person reads it (i18n_server.cpp): the engine's and the server's English
// sentences a tool can meet (wrong passphrase, device or token revoked, no such device, a
// status moved back) in the current language; any other message as it came, printable.
std::string error_text(const Error& e);

// The label of a field in the current language: the schema's label (Indonesian) in
// Indonesian, the field name in English.
std::string field_label(const FieldDef& f);

// The long help of `lumbung` ("help.lumbung") and `lumbung-admin` ("help.admin") in the
// current language (help.cpp); tr() returns it for those keys.
std::string help_text(const std::string& key);

// 4500000 -> "4.500.000" (Indonesian) or "4,500,000" (English).
std::string group_number(int64_t n);

}  // namespace lumbung::cli
