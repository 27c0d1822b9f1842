// Reason codes per validation issue for apps (lumbung.h "Reason codes"): every issue of a
// refused write or a validate as {field, label, reason, message, message_en, message_id},
// so that an app can show its own words (by `reason`) or ours in Indonesian or English.
//
// `reason` is the engine's stable code (schema validators, attachment checks) or, for a
// refusal that is not about one value, the error code's name (status_regression,
// not_found, ...). message_en is the engine's own message, which names the value;
// message_id is a sentence per reason built from the schema's Indonesian label. The CLI
// has richer Indonesian words (tools/cli/common/i18n*.cpp) but is a separate program; the
// sentences here follow its wording.
#include <string>
#include <vector>

#include "capi/capi_internal.h"

namespace lumbung::capi {
namespace {

// 20700000 -> "20.700.000", as Indonesian writes amounts.
std::string group(int64_t n) {
  const bool neg = n < 0;
  const std::string digits = std::to_string(neg ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += '.';
    out += digits[i];
  }
  return neg ? "-" + out : out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string label_of(const FieldDef& f) { return f.label.empty() ? f.name : f.label; }

// The field an issue path names: "nik", or "heirs[0].nik" inside an object list (then the
// label says which entry: "Ahli waris 1: NIK").
const FieldDef* def_for(const CollectionSchema* cs, const std::string& path, std::string* label) {
  if (!cs || path.empty()) return nullptr;
  const size_t br = path.find('['), close = path.find("].");
  if (br == std::string::npos || close == std::string::npos || close < br) {
    const FieldDef* f = cs->field(path);
    if (f) *label = label_of(*f);
    return f;
  }
  const FieldDef* list = cs->field(path.substr(0, br));
  if (!list) return nullptr;
  const std::string item = path.substr(close + 2);
  for (const FieldDef& f : list->item_fields) {
    if (f.name != item) continue;
    std::string index = path.substr(br + 1, close - br - 1);
    bool digits = !index.empty() && index.size() < 6;
    for (char c : index) digits = digits && c >= '0' && c <= '9';
    *label = label_of(*list) + " " + (digits ? std::to_string(std::stoul(index) + 1) : index) +
             ": " + label_of(f);
    return &f;
  }
  return nullptr;
}

std::string form_of(const FieldDef& f) {
  switch (f.type) {
    case FieldType::kInteger:
      return "bilangan bulat, mis. 4500000";
    case FieldType::kNumber:
      return "angka";
    case FieldType::kBoolean:
      return "ya atau tidak";
    case FieldType::kEnum:
    case FieldType::kEnumSet:
      return "salah satu dari: " + join(f.values);
    case FieldType::kObjectList:
      return "daftar";
    case FieldType::kAttachment:
      return "lampiran {sha256, size, mime, name}";
    default:
      return "teks";
  }
}

// The Indonesian sentence for `reason` about the field `f` (may be null) labelled `label`.
std::string indonesian(const std::string& reason, const FieldDef* f, const std::string& label,
                       const std::string& field) {
  const std::string L = label.empty() ? (field.empty() ? "Isian" : field) : label;
  if (reason == "required") {
    if (f && f->type == FieldType::kEnumSet) return L + ": pilih paling sedikit satu";
    if (f && f->type == FieldType::kObjectList) return L + ": isi paling sedikit satu";
    return L + " wajib diisi";
  }
  if (reason == "wrong_type") return L + " harus " + (f ? form_of(*f) : "bentuk yang benar");
  if (reason == "out_of_range") {
    return L + " harus antara " + (f && f->min ? group(*f->min) : "-") + " dan " +
           (f && f->max ? group(*f->max) : "-");
  }
  if (reason == "too_long") {
    return L + " terlalu panjang (paling banyak " +
           std::to_string(f && f->max_length ? *f->max_length : 4096) + " karakter)";
  }
  if (reason == "invalid_date") {
    return L + " harus tanggal yang benar, ditulis TTTT-BB-HH (mis. 1980-11-19)";
  }
  if (reason == "invalid_timestamp") return L + " harus waktu UTC seperti 2025-01-06T08:30:00Z";
  if (reason == "not_in_enum") {
    return L + " harus salah satu dari: " + (f ? join(f->values) : std::string("-"));
  }
  if (reason == "duplicate_value") return L + " menyebut pilihan yang sama lebih dari sekali";
  if (reason == "invalid_phone") {
    return L + " bukan nomor telepon Indonesia; tulis seperti 0812-3456-7890 atau +62 " +
           "812-3456-7890";
  }
  if (reason == "control_character") {
    return L + " berisi karakter kendali (tab, baris baru, escape atau tanda arah teks); " +
           "tulis sebagai satu baris teks biasa";
  }
  if (reason == "invalid_utf8") return L + " berisi byte yang bukan teks UTF-8";
  if (reason == "invalid_region_code") {
    return L + " harus kode wilayah Kemendagri yang benar, mis. 74.02.01.2006 (desa: 10 angka)";
  }
  if (reason == "invalid_nik") {
    return L + " tidak sah: NIK adalah 16 angka (kode wilayah, tanggal lahir HHBBTT dengan " +
           "hari + 40 untuk perempuan, lalu nomor urut mulai 0001)";
  }
  if (reason == "nik_birth_date_mismatch") {
    return L + " tidak cocok dengan tanggal lahir di NIK (angka ke-7 sampai ke-12, HHBBTT; " +
           "perempuan: hari + 40)";
  }
  if (reason == "nik_gender_mismatch") {
    return L + " tidak cocok dengan NIK (pada NIK perempuan, hari lahir ditambah 40)";
  }
  if (reason == "unknown_field") return "\"" + field + "\" bukan kolom yang dikenal";
  if (reason == "too_large") {
    return L + ": berkas terlalu besar (paling besar " +
           (f && f->max_size ? group(*f->max_size) + " byte" : std::string("batasnya")) +
           "); perkecil fotonya";
  }
  if (reason == "not_allowed") {
    return L + ": jenis berkas ini tidak diterima (boleh: " + (f ? join(f->mime) : "-") + ")";
  }
  if (reason == "status_regression") {
    return L + " hanya boleh maju, tidak kembali" +
           (f && !f->values.empty() ? " (urutan: " + join(f->values) + ")" : std::string());
  }
  if (reason == "out_of_scope") {
    return "Rekaman di luar wilayah perangkat ini; periksa isian " +
           (label.empty() ? std::string("kode desa") : "\"" + L + "\"");
  }
  if (reason == "not_found") return "Rekaman tidak ditemukan (tidak ada atau sudah dihapus)";
  if (reason == "unknown_collection") return "Jenis rekaman (koleksi) tidak dikenal";
  if (reason == "malformed_json" || reason == "invalid_argument") {
    return "Data tidak dapat dibaca: harus objek JSON";
  }
  return field.empty() ? "Perubahan ditolak (" + reason + ")" : L + " tidak sah (" + reason + ")";
}

}  // namespace

Json issue_json(const CollectionSchema* cs, const std::string& field, const std::string& reason,
                const std::string& message_en) {
  std::string label;
  const FieldDef* f = def_for(cs, field, &label);
  return Json{{"field", field},           {"label", label},
              {"reason", reason},         {"message", message_en},
              {"message_en", message_en}, {"message_id", indonesian(reason, f, label, field)}};
}

Json issues_document(const CollectionSchema* cs, const std::vector<ValidationIssue>& issues) {
  Json list = Json::array();
  for (const auto& i : issues) list.push_back(issue_json(cs, i.field, i.reason, i.message));
  return Json{{"valid", issues.empty()}, {"issues", std::move(list)}};
}

Json explain_failure(const Store& s, const std::string& collection, const Json* whole,
                     const Error& e) noexcept {
  try {
    const CollectionSchema* cs = s.schema().collection(collection);
    const bool invalid =
        e.code() == ErrorCode::kValidationFailed || e.code() == ErrorCode::kUnknownField;
    if (invalid && cs && whole) {
      auto issues = s.validate(collection, *whole);
      if (!issues.empty()) return issues_document(cs, issues);
    }
    // Not about the values (status moving back, no such record, ...) or an issue the
    // whole-record check does not see: the error itself is the one issue.
    const std::string reason = error_code_name(e.code());
    Json one = Json::array();
    one.push_back(issue_json(cs, e.field(), reason, e.what()));
    return Json{{"valid", false}, {"issues", std::move(one)}};
  } catch (...) {
    return Json();  // the caller falls back to the lb_error
  }
}

}  // namespace lumbung::capi
