// Enum values by their names (issue 15 item 5): what `show`, `list`, `search`, `drafts` and
// lumbung-admin's review screens print instead of the stored code ("P" -> "Perempuan").
// The schema file cannot carry them: its loader refuses members it does not know
// (engine/src/schema/schema.cpp check_members), so the names live here, keyed by field and
// value ("enum.gender.P"). A value with no entry is printed as it is stored, so a value a
// newer schema adds is still shown.
#include "common/i18n.h"
#include "common/i18n_catalogue.h"
#include "common/output.h"

namespace lumbung::cli {
namespace i18n_detail {

void add_label_entries(Catalogue& c) {
  c.insert({
      {"enum.gender.L", {"Laki-laki", "Male"}},
      {"enum.gender.P", {"Perempuan", "Female"}},
      {"enum.occupation.perangkat_desa", {"Perangkat desa", "Village official"}},
      {"enum.occupation.anggota_bpd", {"Anggota BPD", "Village council (BPD) member"}},
      {"enum.occupation.ketua_rt_rw", {"Ketua RT/RW", "RT/RW head"}},
      {"enum.occupation.kader_posyandu", {"Kader posyandu", "Posyandu volunteer"}},
      {"enum.occupation.guru_mengaji", {"Guru mengaji", "Quran teacher"}},
      {"enum.occupation.marbot", {"Marbot", "Mosque caretaker"}},
      {"enum.occupation.petani", {"Petani", "Farmer"}},
      {"enum.occupation.nelayan", {"Nelayan", "Fisher"}},
      {"enum.occupation.peternak", {"Peternak", "Livestock farmer"}},
      {"enum.occupation.pedagang", {"Pedagang", "Trader"}},
      {"enum.occupation.buruh_harian", {"Buruh harian", "Day labourer"}},
      {"enum.occupation.pengemudi_ojek", {"Pengemudi ojek", "Ojek driver"}},
      {"enum.occupation.lainnya", {"Lainnya", "Other"}},
      {"enum.segment.PU", {"Penerima Upah (PU)", "Wage earner (PU)"}},
      {"enum.segment.BPU", {"Bukan Penerima Upah (BPU)", "Not a wage earner (BPU)"}},
      {"enum.programs.JKK", {"JKK (Jaminan Kecelakaan Kerja)", "JKK (work accident)"}},
      {"enum.programs.JKM", {"JKM (Jaminan Kematian)", "JKM (death benefit)"}},
      {"enum.programs.JHT", {"JHT (Jaminan Hari Tua)", "JHT (old-age savings)"}},
      {"enum.programs.JP", {"JP (Jaminan Pensiun)", "JP (pension)"}},
      {"enum.programs.JKP", {"JKP (Jaminan Kehilangan Pekerjaan)", "JKP (job-loss benefit)"}},
      {"enum.payment_source.APBDes", {"APBDes (dana desa)", "APBDes (village budget)"}},
      {"enum.payment_source.APBD", {"APBD (pemerintah daerah)", "APBD (regional budget)"}},
      {"enum.payment_source.mandiri", {"Mandiri (bayar sendiri)", "Self-paid"}},
      {"enum.status.draft", {"Draf", "Draft"}},
      {"enum.status.submitted", {"Diajukan", "Submitted"}},
      {"enum.status.verified", {"Terverifikasi", "Verified"}},
      {"enum.status.rejected", {"Ditolak", "Rejected"}},
      {"enum.status.enrolled", {"Terdaftar", "Enrolled"}},
      {"enum.relationship.suami_istri", {"Suami/istri", "Husband/wife"}},
      {"enum.relationship.anak", {"Anak", "Child"}},
      {"enum.relationship.orang_tua", {"Orang tua", "Parent"}},
      {"enum.relationship.cucu", {"Cucu", "Grandchild"}},
      {"enum.relationship.kakek_nenek", {"Kakek/nenek", "Grandparent"}},
      {"enum.relationship.saudara_kandung", {"Saudara kandung", "Sibling"}},
      {"enum.relationship.mertua", {"Mertua", "Parent-in-law"}},
      {"enum.relationship.penerima_wasiat", {"Penerima wasiat", "Named in a will"}},
  });
}

}  // namespace i18n_detail

namespace {

// The name of one enum value, or the value itself when the catalogue has none (tr() would
// print the key).
std::string one_label(const std::string& field, const std::string& value, bool compact) {
  const std::string key = "enum." + field + "." + value;
  const std::string text = tr(key);
  if (text == key) return value;
  // In a table a program is its well-known short name; the long form is for `show`.
  if (compact && field == "programs") return value;
  return text;
}

}  // namespace

std::string value_display(const FieldDef& f, const Json& v, bool compact) {
  if (f.type == FieldType::kEnum && v.is_string()) {
    return one_label(f.name, v.get<std::string>(), compact);
  }
  if (f.type == FieldType::kEnumSet && v.is_array()) {
    std::string out;
    for (const Json& x : v) {
      if (!out.empty()) out += compact ? "," : ", ";
      out += x.is_string() ? one_label(f.name, x.get<std::string>(), compact) : x.dump();
    }
    return out;
  }
  if (f.type == FieldType::kTimestamp && v.is_string()) {
    return local_timestamp(v.get<std::string>());
  }
  if (f.type == FieldType::kDate && v.is_string()) return officer_date(v.get<std::string>());
  if (f.type == FieldType::kObjectList && v.is_array()) {
    std::string out;
    for (const Json& item : v) {
      std::string text;
      for (const FieldDef& sub : f.item_fields) {
        auto s = item.find(sub.name);
        if (s == item.end() || s->is_null()) continue;
        text += (text.empty() ? "" : ", ") + value_display(sub, *s, compact);
      }
      out += (out.empty() ? "" : "; ") + text;
    }
    return out;
  }
  return value_text(v);
}

}  // namespace lumbung::cli
