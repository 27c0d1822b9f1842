// The message catalogue's table type, shared by the files that fill it (i18n.cpp: the
// laptop's sentences; i18n_admin.cpp: lumbung-admin's; i18n_refused.cpp: refused changes
// and regions, both tools). Private to tools/cli/common: everyone else calls tr().
#pragma once

#include <map>
#include <string>

namespace lumbung::cli::i18n_detail {

struct Entry {
  const char* id;  // Bahasa Indonesia
  const char* en;  // English
};
using Catalogue = std::map<std::string, Entry>;

void add_admin_entries(Catalogue& c);
void add_refused_entries(Catalogue& c);
void add_trust_entries(Catalogue& c);   // i18n_trust.cpp
void add_import_entries(Catalogue& c);  // i18n_import.cpp
void add_value_entries(Catalogue& c);   // i18n_values.cpp
void add_draft_entries(Catalogue& c);   // i18n_drafts.cpp
void add_attach_entries(Catalogue& c);  // i18n_attach.cpp
void add_label_entries(Catalogue& c);   // i18n_labels.cpp: enum values by name
void add_server_entries(Catalogue& c);  // i18n_server.cpp: the server's sentences
void add_review_entries(Catalogue& c);  // i18n_review.cpp: lumbung-admin's review screens

}  // namespace lumbung::cli::i18n_detail
