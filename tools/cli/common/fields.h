// Turning what a person types (a flag, a prompt answer, a CSV cell) into a field value, and
// the few schema-derived choices the tools make: which fields to show in a list, what to
// call a record, which fields the tool fills in itself. Nothing here names a BPJS field
// except the auto-filled ones, which are looked up by name and skipped if absent.
#pragma once

#include <string>
#include <vector>

#include "lumbung/schema.h"

namespace lumbung::cli {

// Text -> JSON value for `f`. Empty (after trimming) -> null. Forgiving where people are:
// integers may carry "Rp", dots or commas as thousands marks ("Rp 4.500.000"); dates may be
// written DD-MM-YYYY or DD/MM/YYYY; enum sets are comma lists ("JKK, JKM"); booleans
// ya/tidak/yes/no; object lists are JSON. Text that cannot be read as the type is returned
// as a string, so the schema's own check explains the problem.
Json parse_field_text(const FieldDef& f, const std::string& text);

// The field named by a command-line flag: "birth-date" or "birth_date". nullptr if none.
const FieldDef* field_by_flag(const CollectionSchema& cs, const std::string& flag);
// "birth_date" -> "birth-date".
std::string flag_name(const std::string& field);

// Fields the tools fill in when a new record does not give them: `created_at` (now, if a
// timestamp), `officer_id` (the officer of this laptop), and the first state of a
// forward-only field after "draft" ("submitted": the officer submits what they enrol).
// `merged_into` is the central office's (set by a duplicate merge): never asked, never filled.
bool is_auto_field(const CollectionSchema& cs, const FieldDef& f);
void fill_auto_fields(const CollectionSchema& cs, Json& record, const std::string& officer);

// Columns of a record list: natural key, first required text field, scope field, first
// forward-only field (for BPJS: NIK, Nama lengkap, Kode desa, Status).
std::vector<const FieldDef*> summary_fields(const CollectionSchema& cs);
// A record's human name: the first required text field that is not the natural key.
std::string record_title(const CollectionSchema& cs, const Json& fields);

// The last 8 characters of an id (the random part of a UUIDv7), for tables.
std::string short_id(const std::string& id);

std::string trim(std::string s);

// A Kemendagri region code as people write it: "740201" -> "74.02.01", "7402012006" ->
// "74.02.01.2006" (2-2-2-4 digits). Text that is not all digits is returned unchanged.
std::string dotted_region(const std::string& code);
// Region prefixes as one line: "74.02.01, 74.02.02".
std::string regions_text(const std::vector<std::string>& prefixes);

}  // namespace lumbung::cli
