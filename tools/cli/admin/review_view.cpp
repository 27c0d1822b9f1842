// How lumbung-admin's review screens name things (issue 15 item 8): the person a record is
// about, the officer whose laptop wrote a value, the desa by its name, and a decision by
// who took it and when. Every look-up is one request per run at most (cached in Admin) and
// falls back to the id when the server cannot or will not say.
#include <cctype>
#include <sstream>

#include "admin.h"
#include "common/csv.h"
#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "lumbung/error.h"

namespace lumbung::cli::admin {

const Json& record_of(Admin& a, const std::string& record_id) {
  if (auto it = a.records.find(record_id); it != a.records.end()) return it->second;
  Json r;
  try {
    r = a.api->get("/v1/web/records/" + url_encode(record_id));
  } catch (const Error&) {
    // Not shown to this token (another region) or an older server: the id will do.
  }
  return a.records[record_id] = std::move(r);
}

std::string mask_nik(const std::string& nik) {
  if (nik.size() != 16) return nik;
  for (char c : nik) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return nik;
  }
  return nik.substr(0, 6) + "******" + nik.substr(12);
}

std::string desa_text(Admin& a, const std::string& code) {
  if (!a.region_names) {
    a.region_names.emplace();
    try {
      // The same names the office page shows: code,name,level (server/web/wilayah.csv).
      std::istringstream in(a.api->get_text("/wilayah.csv"));
      CsvReader csv(in);
      std::vector<std::string> cells;
      size_t row = 0;
      // Bounded: the file holds a few thousand regions.
      for (int n = 0; n < 200000 && csv.next(cells, &row); ++n) {
        if (cells.size() >= 2) (*a.region_names)[cells[0]] = cells[1];
      }
    } catch (const std::exception&) {
      // No names from this server: codes only.
    }
  }
  const auto it = a.region_names->find(code);
  if (it == a.region_names->end()) return dotted_region(code);
  return it->second + " (" + dotted_region(code) + ")";
}

std::string person_of(Admin& a, const std::string& record_id, const std::string& collection) {
  const Json& r = record_of(a, record_id);
  if (!r.is_object()) return short_id(record_id);
  const Json fields = r.value("fields", Json::object());
  std::string text;
  auto add = [&](const std::string& part) {
    if (!part.empty()) text += (text.empty() ? "" : " · ") + part;
  };
  const Schema& schema = a.server_schema();
  const CollectionSchema* cs = schema.collection(collection);
  if (!cs && !schema.collections().empty()) cs = &schema.collections().front();
  if (cs) {
    add(record_title(*cs, fields));
    const auto key = fields.find(cs->natural_key());
    if (key != fields.end() && key->is_string()) add(mask_nik(key->get<std::string>()));
    const auto scope = fields.find(cs->scope_field());
    if (scope != fields.end() && scope->is_string()) add(desa_text(a, scope->get<std::string>()));
  }
  if (r.value("deleted", false)) add(tr("record.deleted_label"));
  if (text.empty()) return short_id(record_id);
  return text;
}

std::string officer_of(Admin& a, const std::string& device_id) {
  if (device_id == "server") return tr("review.office");
  if (!a.device_labels) {
    a.device_labels.emplace();
    try {
      const Json r = a.api->get("/v1/admin/devices");
      for (const auto& d : r.value("devices", Json::array())) {
        const std::string label = d.value("label", "");
        if (!label.empty()) (*a.device_labels)[d.value("device_id", "")] = label;
      }
    } catch (const Error&) {
      // A reviewer token may not list devices: ids only.
    }
  }
  const auto it = a.device_labels->find(device_id);
  if (it == a.device_labels->end()) return device_id;
  return it->second + " (" + device_id + ")";
}

std::string decision_text(Admin& a, const Json& entry) {
  const Json res = entry.value("resolution", Json());
  if (!res.is_object()) return "";
  const Json by = res.value("by", Json::object());
  std::string who = by.value("label", "");
  const std::string role = by.value("role", "");
  if (who.empty())
    who = role;
  else if (!role.empty())
    who += " (" + role + ")";
  std::string what;
  if (res.contains("survivor")) {
    what = tr("review.kept_record", {{"id", short_id(res.value("survivor", ""))}});
  } else {
    const Json v = res.value("value", Json());
    const CollectionSchema* cs = a.server_schema().collection(entry.value("collection", ""));
    const FieldDef* f = cs ? cs->field(entry.value("field", "")) : nullptr;
    if (entry.value("kind", "") == "update_delete" && v.is_string()) {
      what = tr(v == "deleted" ? "review.record_deleted" : "review.record_kept");
    } else {
      what = f ? value_display(*f, v, true) : value_text(v);
    }
  }
  // A corrected entry says so next to the value: its latest decision replaced an earlier one.
  if (res.value("corrected", false)) what += " (" + tr("review.corrected_mark") + ")";
  return tr("review.decision",
            {{"what", what}, {"who", who}, {"when", local_time(opt_ms(res, "at_ms"))}});
}

bool confirm(Admin& a, bool yes) {
  if (yes) return true;
  *a.out << tr("review.confirm") << " [y/N] " << std::flush;
  std::string line;
  if (!std::getline(*a.in, line)) {
    *a.out << "\n";
    return false;
  }
  line = trim(line);
  if (line.empty()) return false;
  const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(line[0])));
  return c == 'y';  // y, ya, yes
}

}  // namespace lumbung::cli::admin
