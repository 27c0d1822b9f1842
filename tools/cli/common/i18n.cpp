#include "common/i18n.h"

#include "common/i18n_catalogue.h"

#include <cstdlib>
#include <map>

#include "lumbung/error.h"

namespace lumbung::cli {
namespace {

Lang g_lang = Lang::kIndonesian;

using i18n_detail::Catalogue;

// The catalogue: key -> Indonesian, English. {name} is filled by tr(). The laptop's
// sentences are here; lumbung-admin's are in i18n_admin.cpp, refused changes and regions
// in i18n_refused.cpp.
Catalogue with_other_parts(Catalogue c) {
  i18n_detail::add_admin_entries(c);
  i18n_detail::add_refused_entries(c);
  i18n_detail::add_trust_entries(c);
  i18n_detail::add_import_entries(c);
  i18n_detail::add_value_entries(c);
  i18n_detail::add_draft_entries(c);
  i18n_detail::add_attach_entries(c);
  i18n_detail::add_label_entries(c);
  i18n_detail::add_server_entries(c);
  i18n_detail::add_review_entries(c);
  return c;
}

const Catalogue& catalogue() {
  static const Catalogue m = with_other_parts({
      // --- general ---
      {"yes", {"ya", "yes"}},
      {"usage.needs_value", {"{opt} perlu nilai", "{opt} needs a value"}},
      {"usage.unknown_arg", {"argumen tidak dikenal: {arg}", "unknown argument: {arg}"}},
      {"usage.unknown_command", {"perintah tidak dikenal: {cmd}", "unknown command: {cmd}"}},
      {"usage.bad_number", {"{opt} harus berupa angka", "{opt} must be a number"}},
      {"usage.see_help", {"Lihat `lumbung help`.", "See `lumbung help`."}},
      {"usage.bad_lang",
       {"bahasa tidak dikenal: {lang} (pilih id atau en)",
        "unknown language: {lang} (use id or en)"}},
      {"time.future", {"di masa depan (jam laptop salah?)", "in the future (laptop clock wrong?)"}},
      {"time.just_now", {"baru saja", "just now"}},
      {"time.minutes_ago", {"{n} menit lalu", "{n} minutes ago"}},
      {"time.hours_ago", {"{n} jam lalu", "{n} hours ago"}},
      {"time.days_ago", {"{n} hari lalu", "{n} days ago"}},
      // --- laptop state ---
      {"laptop.cannot_read", {"tidak bisa membaca {path}", "cannot read {path}"}},
      {"laptop.cannot_write", {"tidak bisa menulis {path}", "cannot write {path}"}},
      {"laptop.not_init",
       {"laptop belum disiapkan di {home}. Jalankan dulu: lumbung init --code KODE --server URL",
        "this laptop is not set up in {home}. First run: lumbung init --code CODE --server URL"}},
      {"laptop.bad_config", {"berkas konfigurasi rusak: {path}", "broken config file: {path}"}},
      {"laptop.bad_collection",
       {"koleksi tidak ada di skema: {name}", "no such collection in the schema: {name}"}},
      {"laptop.no_code",
       {"laptop belum terdaftar dan tidak ada kode pendaftaran. Minta kode ke kantor pusat, lalu: "
        "lumbung init --code KODE",
        "this laptop is not registered and has no enrolment code. Ask the central office for one, "
        "then: lumbung init --code CODE"}},
      // --- init ---
      {"init.already",
       {"{home} sudah berisi laptop Lumbung", "{home} already holds a Lumbung laptop"}},
      {"init.need_server",
       {"init perlu --server URL (alamat kantor pusat)",
        "init needs --server URL (the central office's address)"}},
      {"init.officer_too_long",
       {"--officer paling banyak 32 karakter", "--officer is at most 32 characters"}},
      {"init.created",
       {"Laptop disiapkan di {home} (id perangkat {device}).",
        "Laptop set up in {home} (device id {device})."}},
      {"init.already_registered",
       {"Laptop {device} sudah terdaftar di server.",
        "Laptop {device} is already registered with the server."}},
      {"init.no_code_yet",
       {"Belum ada kode pendaftaran; jalankan lagi dengan --code KODE.",
        "No enrolment code yet; run again with --code CODE."}},
      {"init.registered",
       {"Terdaftar di {server} sebagai {device}. Siap mendaftarkan peserta.",
        "Registered with {server} as {device}. Ready to enrol."}},
      {"init.offline",
       {"Server tidak terjangkau sekarang. Kode disimpan; laptop akan mendaftar otomatis pada "
        "`lumbung sync` pertama. Pendaftaran peserta bisa dimulai sekarang.",
        "The server cannot be reached now. The code is saved; the laptop registers itself at the "
        "first `lumbung sync`. You can start enrolling now."}},
      {"init.code_unknown",
       {"Kode pendaftaran tidak dikenal server ({detail}). Periksa kode dari kantor pusat.",
        "The server does not know this enrolment code ({detail}). Check the code from the central "
        "office."}},
      {"init.code_used",
       {"Kode pendaftaran sudah dipakai, dicabut atau kedaluwarsa ({detail}). Minta kode baru ke "
        "kantor pusat.",
        "The enrolment code was already used, was revoked or has expired ({detail}). Ask the "
        "central office for a new one."}},
      {"init.device_taken",
       {"Id perangkat ini sudah terdaftar ({detail}).",
        "This device id is already registered ({detail})."}},
      // --- records ---
      {"record.need_ref",
       {"sebutkan rekaman: id (atau 8 karakter terakhirnya) atau NIK",
        "name a record: its id (or its last 8 characters) or NIK"}},
      {"record.ambiguous_key",
       {"{ref} ada di {n} rekaman (duplikat); sebutkan id-nya",
        "{ref} is on {n} records (duplicates); give the id"}},
      {"record.ambiguous",
       {"{ref} cocok dengan {n} rekaman; tulis lebih panjang",
        "{ref} matches {n} records; type more of it"}},
      {"record.not_found",
       {"tidak ada rekaman {ref} di laptop ini", "no record {ref} on this laptop"}},
      {"record.deleted_label", {"Dihapus", "Deleted"}},
      {"list.none", {"Belum ada rekaman.", "No records."}},
      {"list.count", {"{n} rekaman.", "{n} records."}},
      {"list.more",
       {"{shown} dari {n} rekaman ditampilkan; --limit 0 untuk semua.",
        "{shown} of {n} records shown; --limit 0 for all."}},
      {"search.what",
       {"cari apa? mis. `lumbung search Siti`, `lumbung search 7402015203780001`, `lumbung search "
        "74.02.01.2006`",
        "search for what? e.g. `lumbung search Siti`, `lumbung search 7402015203780001`, `lumbung "
        "search 74.02.01.2006`"}},
      {"search.bad_village",
       {"kode desa hanya angka dan titik: {v}", "a village code is digits and dots: {v}"}},
      {"show.conflict",
       {"konflik pada {field}: nilai lain {other} (menunggu kantor pusat)",
        "conflict on {field}: other value {other} (waiting for the central office)"}},
      // --- enrol ---
      {"enrol.intro",
       {"Pendaftaran peserta baru. Isi satu per satu; * = wajib, Enter = lewati kolom yang tidak "
        "wajib.",
        "New participant. One field at a time; * = required, Enter = skip an optional field."}},
      {"enrol.try_again", {"Coba lagi.", "Try again."}},
      {"enrol.gave_up",
       {"{label} salah {n} kali; pendaftaran dibatalkan, tidak ada yang disimpan.",
        "{label} was wrong {n} times; enrolment abandoned, nothing saved."}},
      {"enrol.eof",
       {"input berakhir sebelum pendaftaran selesai; tidak ada yang disimpan",
        "input ended before the enrolment was complete; nothing saved"}},
      {"enrol.cancelled", {"dibatalkan; tidak ada yang disimpan", "cancelled; nothing saved"}},
      {"enrol.list_intro",
       {"isi per orang; kosongkan kolom pertama untuk selesai.",
        "one entry at a time; leave the first field empty to finish."}},
      {"enrol.duplicate",
       {"Perhatian: NIK {key} sudah ada di laptop ini: {name} ({id}). Mendaftarkan lagi akan "
        "menjadi duplikat yang diperiksa kantor pusat.",
        "Warning: NIK {key} is already on this laptop: {name} ({id}). Enrolling again makes a "
        "duplicate for the central office to review."}},
      {"enrol.continue_anyway", {"Tetap lanjutkan?", "Continue anyway?"}},
      {"enrol.refused",
       {"Pendaftaran ditolak, tidak ada yang disimpan:", "Enrolment refused, nothing saved:"}},
      {"enrol.save_question", {"Simpan?", "Save?"}},
      {"enrol.saved",
       {"Tersimpan: {name} ({id}). Akan terkirim pada sinkronisasi berikutnya.",
        "Saved: {name} ({id}). It will be sent at the next sync."}},
      {"enrol.unknown_flag",
       {"kolom tidak dikenal: {flag}. Kolom yang ada:{fields}",
        "unknown field: {flag}. Fields:{fields}"}},
      {"hint.date", {"TTTT-BB-HH atau HH-BB-TTTT", "YYYY-MM-DD or DD-MM-YYYY"}},
      {"hint.choose_number", {"ketik nomor atau nama", "type the number or the name"}},
      {"hint.choose_many",
       {"satu atau lebih, pisahkan dengan koma, mis. 1,2",
        "one or more, separated by commas, e.g. 1,2"}},
      {"hint.region", {"mis. 74.02.01.2006", "e.g. 74.02.01.2006"}},
      {"hint.phone", {"mis. 0812-3456-7890", "e.g. 0812-3456-7890"}},
      {"hint.nik", {"16 angka dari KTP", "16 digits from the KTP"}},
      // --- edit / delete ---
      {"edit.unknown_field", {"kolom tidak dikenal: {field}", "unknown field: {field}"}},
      {"edit.bad_set",
       {"--set perlu bentuk kolom=nilai, bukan {arg}", "--set takes field=value, not {arg}"}},
      {"edit.nothing",
       {"tidak ada yang diubah; mis. lumbung edit ID --set phone=081234567890",
        "nothing to change; e.g. lumbung edit ID --set phone=081234567890"}},
      {"edit.refused",
       {"Perubahan ditolak, tidak ada yang disimpan:", "Change refused, nothing saved:"}},
      {"edit.saved", {"Diubah: {name} ({fields}).", "Changed: {name} ({fields})."}},
      {"delete.question", {"Hapus {name}?", "Delete {name}?"}},
      {"delete.kept", {"Tidak dihapus.", "Not deleted."}},
      {"delete.done",
       {"Dihapus: {name} ({id}). Penghapusan ikut terkirim saat sinkronisasi.",
        "Deleted: {name} ({id}). The deletion is sent at the next sync."}},
      // --- csv ---
      {"import.need_file",
       {"import-csv perlu nama berkas (atau - untuk stdin)",
        "import-csv needs a file name (or - for stdin)"}},
      {"import.cannot_open", {"tidak bisa membuka {path}", "cannot open {path}"}},
      {"import.unknown_column",
       {"kolom tidak dikenal di baris judul: {col}; tidak ada yang diimpor. Kolom yang ada: "
        "id{fields}",
        "unknown column in the header: {col}; nothing imported. Columns: id{fields}"}},
      {"import.empty", {"berkas kosong", "the file is empty"}},
      {"import.extra_cells",
       {"baris punya {n} sel, judul hanya {m}", "the row has {n} cells, the header only {m}"}},
      {"import.ambiguous",
       {"NIK {key} ada di {n} rekaman; tambahkan kolom id",
        "NIK {key} is on {n} records; add an id column"}},
      {"import.deleted",
       {"rekaman {id} sudah dihapus di laptop ini", "record {id} was deleted on this laptop"}},
      {"import.row_imported",
       {"baris {line}: diimpor{who} ({id})", "row {line}: imported{who} ({id})"}},
      {"import.row_updated",
       {"baris {line}: diperbarui{who} ({id})", "row {line}: updated{who} ({id})"}},
      {"import.row_unchanged",
       {"baris {line}: tidak berubah{who} ({id})", "row {line}: unchanged{who} ({id})"}},
      {"import.row_refused",
       {"baris {line}: DITOLAK{who}: {why}", "row {line}: REFUSED{who}: {why}"}},
      {"import.summary",
       {"Selesai: {imported} diimpor, {updated} diperbarui, {unchanged} tidak berubah, {refused} "
        "ditolak.",
        "Done: {imported} imported, {updated} updated, {unchanged} unchanged, {refused} refused."}},
      {"import.summary_dry",
       {"Uji coba (tidak ada yang disimpan): {imported} akan diimpor, {updated} diperbarui, "
        "{unchanged} tidak berubah, {refused} ditolak.",
        "Dry run (nothing saved): {imported} would be imported, {updated} updated, {unchanged} "
        "unchanged, {refused} refused."}},
      {"export.cannot_write", {"tidak bisa menulis {path}", "cannot write {path}"}},
      {"export.done", {"{n} rekaman ditulis ke {path}.", "{n} records written to {path}."}},
      // --- status / conflicts ---
      {"status.device", {"Laptop {device} — server {server}", "Laptop {device} — server {server}"}},
      {"status.not_registered",
       {"belum terdaftar: akan mendaftar pada sinkronisasi berikutnya",
        "not registered yet: registers at the next sync"}},
      {"status.records", {"Rekaman:                   {n}", "Records:                    {n}"}},
      {"status.pending", {"Perubahan belum terkirim:  {n}", "Changes not yet sent:       {n}"}},
      {"status.last_sync",
       {"Sinkronisasi terakhir:     {when} ({ago})", "Last sync:                  {when} ({ago})"}},
      {"status.oldest",
       {"Perubahan tertua menunggu: {when} ({ago})", "Oldest unsent change:       {when} ({ago})"}},
      {"status.conflicts", {"Konflik terbuka:           {n}", "Open conflicts:             {n}"}},
      {"status.hint_sync",
       {"Jalankan `lumbung sync` saat ada sinyal.", "Run `lumbung sync` when there is a signal."}},
      {"conflicts.none",
       {"Tidak ada konflik terbuka di laptop ini.", "No open conflicts on this laptop."}},
      {"conflicts.none_server", {"Tidak ada konflik.", "No conflicts."}},
      {"conflicts.kind", {"jenis", "kind"}},
      {"conflicts.record", {"rekaman", "record"}},
      {"conflicts.field", {"kolom", "field"}},
      {"conflicts.kept", {"nilai dipakai", "kept"}},
      {"conflicts.other", {"nilai lain", "other value"}},
      {"conflicts.hint",
       {"Kantor pusat memutuskan; keputusannya sampai ke laptop ini pada sinkronisasi berikutnya.",
        "The central office decides; its decision reaches this laptop at the next sync."}},
      {"kind.concurrent_update", {"diubah berbeda", "edited differently"}},
      {"kind.update_delete", {"diubah & dihapus", "edited & deleted"}},
      {"kind.needs_review", {"perlu diperiksa", "needs review"}},
      {"kind.duplicate_key", {"duplikat", "duplicate"}},
      // --- sync ---
      {"sync.no_server",
       {"alamat server belum diatur: lumbung init --server URL (atau --server URL)",
        "no server address: lumbung init --server URL (or --server URL)"}},
      {"sync.bad_first_pull",
       {"--first-pull harus auto, snapshot atau replay, bukan \"{value}\"",
        "--first-pull must be auto, snapshot or replay, not \"{value}\""}},
      {"sync.up", {"kirim", "send"}},
      {"sync.down", {"terima", "receive"}},
      {"sync.eta", {"sisa ~{t}", "~{t} left"}},
      {"sync.rate", {"{n}/d", "{n}/s"}},
      {"sync.done_word", {"selesai", "done"}},
      {"sync.retries", {"(mencoba ulang ×{n})", "(retried ×{n})"}},
      {"sync.token_renewed",
       {"Token perangkat baru mulai dipakai; token lama tidak berlaku lagi.",
        "The new device token is in use; the old one no longer works."}},
      {"token.rotated",
       {"Token perangkat diganti: token baru tersimpan di laptop ini dan token lama tidak berlaku "
        "lagi. Perubahan yang belum terkirim ({pending}) tetap menunggu sinkronisasi.",
        "Device token replaced: the new token is kept on this laptop and the old one no longer "
        "works. Unsent changes ({pending}) still wait for the next sync."}},
      {"token.offline",
       {"Server tidak terjangkau ({detail}); token belum diganti. Token sekarang tetap berlaku; "
        "jalankan lagi `lumbung token rotate` saat ada sinyal.",
        "The server cannot be reached ({detail}); the token was not replaced. The current token "
        "still works; run `lumbung token rotate` again when there is a signal."}},
      {"token.not_registered",
       {"Laptop ini belum terdaftar; belum ada token untuk diganti (jalankan `lumbung sync`).",
        "This laptop is not registered yet; there is no token to replace (run `lumbung sync`)."}},
      {"sync.registered",
       {"Laptop terdaftar di server sebagai {device}.",
        "Laptop registered with the server as {device}."}},
      {"sync.summary",
       {"Sinkronisasi selesai dalam {secs} d: terkirim {sent} perubahan, diterima {received} "
        "({applied} mengubah data), konflik baru {conflicts}; {up} ↑ {down} ↓.",
        "Sync done in {secs} s: sent {sent} changes, received {received} ({applied} changed data), "
        "new conflicts {conflicts}; {up} ↑ {down} ↓."}},
      {"sync.schema_learnt",
       {"Laptop ini kini memakai skema versi {version} dari server (sebelumnya {mine}); "
        "rekaman disesuaikan saat perintah berikutnya.",
        "This laptop now uses schema version {version} from the server (was {mine}); its "
        "records are adjusted at the next command."}},
      {"sync.retried",
       {"Sambungan sempat putus; dicoba ulang {n} kali.", "The link dropped; retried {n} times."}},
      {"sync.open_conflicts",
       {"{n} konflik menunggu keputusan kantor pusat: lihat `lumbung conflicts`.",
        "{n} conflicts wait for the central office: see `lumbung conflicts`."}},
      {"sync.cancelled",
       {"Sinkronisasi dihentikan. Yang sudah terkirim aman; {pending} perubahan menunggu. Jalankan "
        "`lumbung sync` lagi untuk melanjutkan.",
        "Sync stopped. What was sent is safe; {pending} changes wait. Run `lumbung sync` again to "
        "continue."}},
      {"sync.unreachable",
       {"Server {server} tidak terjangkau ({detail}). Data aman di laptop ({pending} perubahan "
        "menunggu); coba lagi saat ada sinyal.",
        "Server {server} cannot be reached ({detail}). The data is safe on this laptop ({pending} "
        "changes wait); try again when there is a signal."}},
      {"sync.refused",
       {"Server menolak laptop ini ({detail}). Hubungi kantor pusat: mungkin perangkat dicabut.",
        "The server refused this laptop ({detail}). Contact the central office: the device may "
        "have been revoked."}},
      {"sync.out_of_scope",
       {"Ada rekaman di luar wilayah laptop ini ({detail}). Periksa kode desa rekaman itu.",
        "A record is outside this laptop's regions ({detail}). Check that record's village code."}},
      {"sync.failed",
       {"Sinkronisasi gagal: {detail}. {pending} perubahan menunggu, tidak ada yang hilang.",
        "Sync failed: {detail}. {pending} changes wait; nothing is lost."}},
      // --- validation ---
      {"issue.required", {"{label} wajib diisi", "{label} is required"}},
      {"issue.required_choice",
       {"{label}: pilih paling sedikit satu", "{label} needs at least one choice"}},
      {"issue.wrong_type", {"{label} harus {form}", "{label} must be {form}"}},
      {"issue.out_of_range",
       {"{label} harus antara {min} dan {max}", "{label} must be between {min} and {max}"}},
      {"issue.too_long",
       {"{label} terlalu panjang (paling banyak {max} karakter)",
        "{label} is too long (at most {max} characters)"}},
      {"issue.invalid_date",
       {"{label} harus tanggal yang benar, ditulis TTTT-BB-HH (mis. 1980-11-19)",
        "{label} must be a real date written YYYY-MM-DD (e.g. 1980-11-19)"}},
      {"issue.invalid_timestamp",
       {"{label} harus waktu UTC seperti 2025-01-06T08:30:00Z",
        "{label} must be a UTC time like 2025-01-06T08:30:00Z"}},
      {"issue.not_in_enum",
       {"{label} harus salah satu dari: {values}", "{label} must be one of: {values}"}},
      {"issue.duplicate_value",
       {"{label} menyebut pilihan yang sama lebih dari sekali",
        "{label} lists a choice more than once"}},
      {"issue.invalid_phone",
       {"{label} bukan nomor telepon Indonesia; tulis seperti 0812-3456-7890 atau +62 "
        "812-3456-7890",
        "{label} is not an Indonesian phone number; write it like 0812-3456-7890 or +62 "
        "812-3456-7890"}},
      {"issue.control_character",
       {"{label} berisi karakter kendali (tab, baris baru, escape atau tanda arah teks); "
        "tulis sebagai satu baris teks biasa",
        "{label} contains a control character (tab, line break, escape or a text direction "
        "mark); write it as one line of plain text"}},
      {"issue.invalid_utf8",
       {"{label} berisi byte yang bukan teks UTF-8; simpan berkasnya sebagai UTF-8",
        "{label} holds bytes that are not UTF-8 text; save the file as UTF-8"}},
      {"issue.invalid_region_code",
       {"{label} harus kode wilayah Kemendagri yang benar, mis. 74.02.01.2006 (desa: 10 angka)",
        "{label} must be a real Kemendagri region code, e.g. 74.02.01.2006 (desa: 10 digits)"}},
      {"issue.nik_length", {"{label} harus tepat 16 angka", "{label} must be exactly 16 digits"}},
      {"issue.nik_province",
       {"{label} diawali {pp}, yang bukan kode provinsi",
        "{label} starts with {pp}, which is not a province code"}},
      {"issue.nik_date",
       {"bagian tanggal lahir di {label} ({part}) bukan tanggal yang benar (HHBBTT; perempuan: "
        "hari + 40)",
        "the birth-date part of {label} ({part}) is not a real date (DDMMYY; women add 40 to the "
        "day)"}},
      {"issue.nik_serial",
       {"{label} berakhir dengan nomor urut 0000; nomor urut mulai dari 0001",
        "{label} ends in serial 0000; serial numbers start at 0001"}},
      {"issue.nik_gender_woman",
       {"hari pada {nik} ({dd}) berarti perempuan (hari + 40), tetapi {gender} = {g}",
        "the {nik} day {dd} means a woman (day + 40), but {gender} is {g}"}},
      {"issue.nik_gender_man",
       {"hari pada {nik} ({dd}) berarti laki-laki (perempuan: hari + 40), tetapi {gender} = {g}",
        "the {nik} day {dd} means a man (women have day + 40), but {gender} is {g}"}},
      {"issue.unknown_field",
       {"\"{field}\" bukan kolom yang dikenal", "\"{field}\" is not a known field"}},
      {"form.text", {"teks", "text"}},
      {"form.integer", {"bilangan bulat, mis. 4500000", "a whole number, e.g. 4500000"}},
      {"form.number", {"angka", "a number"}},
      {"form.boolean", {"ya atau tidak", "yes or no"}},
      {"form.list", {"daftar", "a list"}},
  });
  return m;
}

std::string fill(std::string text, Params params) {
  for (const auto& [k, v] : params) {
    const std::string ph = "{" + k + "}";
    for (size_t pos = text.find(ph); pos != std::string::npos;
         pos = text.find(ph, pos + v.size())) {
      text.replace(pos, ph.size(), v);
    }
  }
  return text;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// The field definition a validation path names: "phone", or "heirs[0].name" inside an
// object list. `entry` gets "Ahli waris #1: " for list items.
const FieldDef* def_for_path(const CollectionSchema& cs, const std::string& path,
                             std::string* entry) {
  const size_t br = path.find('[');
  if (br == std::string::npos) return cs.field(path);
  const FieldDef* parent = cs.field(path.substr(0, br));
  if (!parent) return nullptr;
  const size_t close = path.find(']', br);
  const size_t dot = path.find('.', br);
  if (close == std::string::npos) return parent;
  *entry = field_label(*parent) + " #" +
           std::to_string(std::stoul(path.substr(br + 1, close - br - 1)) + 1) + ": ";
  if (dot == std::string::npos) return parent;
  const std::string sub = path.substr(dot + 1);
  for (const FieldDef& f : parent->item_fields) {
    if (f.name == sub) return &f;
  }
  return parent;
}

std::string str_field(const Json* record, const std::string& name) {
  if (!record || !record->is_object()) return {};
  auto it = record->find(name);
  return it != record->end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

void set_language(Lang lang) { g_lang = lang; }
Lang language() { return g_lang; }

bool parse_language(const std::string& text, Lang* out) {
  std::string t;
  for (char c : text) t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (t == "id" || t == "in" || t == "indonesia" || t.rfind("id_", 0) == 0) {
    *out = Lang::kIndonesian;
    return true;
  }
  if (t == "en" || t == "english" || t.rfind("en_", 0) == 0) {
    *out = Lang::kEnglish;
    return true;
  }
  return false;
}

void choose_language(const std::string& flag_value) {
  std::string choice = flag_value;
  if (choice.empty()) {
    if (const char* env = std::getenv("LUMBUNG_LANG"); env && *env) choice = env;
  }
  if (choice.empty()) {
    set_language(Lang::kIndonesian);
    return;
  }
  Lang l;
  if (!parse_language(choice, &l)) {
    set_language(Lang::kIndonesian);
    throw Error(ErrorCode::kInvalidArgument, tr("usage.bad_lang", {{"lang", choice}}));
  }
  set_language(l);
}

std::string tr(const std::string& key, Params params) {
  const auto& m = catalogue();
  auto it = m.find(key);
  if (it == m.end()) {
    if (key == "help.lumbung" || key == "help.admin") return help_text(key);
    return fill(key, params);
  }
  return fill(g_lang == Lang::kIndonesian ? it->second.id : it->second.en, params);
}

std::string field_label(const FieldDef& f) {
  if (g_lang == Lang::kIndonesian && !f.label.empty()) return f.label;
  std::string s = f.name;
  for (char& c : s) {
    if (c == '_') c = ' ';
  }
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string group_number(int64_t n) {
  const bool neg = n < 0;
  std::string digits = std::to_string(neg ? -n : n);
  std::string out;
  const char sep = g_lang == Lang::kIndonesian ? '.' : ',';
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += sep;
    out += digits[i];
  }
  return neg ? "-" + out : out;
}

std::string issue_text(const ValidationIssue& issue, const CollectionSchema& cs,
                       const Json* record) {
  std::string entry;
  const FieldDef* f = def_for_path(cs, issue.field, &entry);
  if (!f) {
    if (issue.reason == "unknown_field") return tr("issue.unknown_field", {{"field", issue.field}});
    return issue.message;
  }
  const std::string label = field_label(*f);
  if (auto told = value_issue_text(issue, *f, label, record)) return entry + *told;
  // English: the engine's own message is already right and carries the details.
  if (g_lang == Lang::kEnglish && issue.reason != "nik_birth_date_mismatch") return issue.message;
  const std::string& r = issue.reason;
  std::string text;
  if (r == "required") {
    text = f->type == FieldType::kEnumSet ? tr("issue.required_choice", {{"label", label}})
                                          : tr("issue.required", {{"label", label}});
  } else if (r == "wrong_type") {
    std::string form;
    switch (f->type) {
      case FieldType::kInteger:
        form = tr("form.integer");
        break;
      case FieldType::kNumber:
        form = tr("form.number");
        break;
      case FieldType::kBoolean:
        form = tr("form.boolean");
        break;
      case FieldType::kEnum:
      case FieldType::kEnumSet:
        form = join(f->values);
        break;
      case FieldType::kObjectList:
        form = tr("form.list");
        break;
      default:
        form = tr("form.text");
    }
    text = tr("issue.wrong_type", {{"label", label}, {"form", form}});
  } else if (r == "out_of_range") {
    text = tr("issue.out_of_range", {{"label", label},
                                     {"min", f->min ? group_number(*f->min) : "-"},
                                     {"max", f->max ? group_number(*f->max) : "-"}});
  } else if (r == "too_long") {
    text = tr("issue.too_long",
              {{"label", label}, {"max", std::to_string(f->max_length.value_or(4096))}});
  } else if (r == "invalid_date" || r == "invalid_timestamp" || r == "invalid_phone" ||
             r == "invalid_region_code" || r == "duplicate_value" || r == "control_character" ||
             r == "invalid_utf8") {
    text = tr("issue." + r, {{"label", label}});
  } else if (r == "not_in_enum") {
    text = tr("issue.not_in_enum", {{"label", label}, {"values", join(f->values)}});
  } else if (r == "invalid_nik") {
    // The engine says which rule failed in its English message; name it in Indonesian.
    const std::string& m = issue.message;
    const std::string nik = str_field(record, f->name);
    if (m.find("16 digits") != std::string::npos) {
      text = tr("issue.nik_length", {{"label", label}});
    } else if (m.find("province") != std::string::npos) {
      text = tr("issue.nik_province",
                {{"label", label}, {"pp", nik.size() >= 2 ? nik.substr(0, 2) : "?"}});
    } else if (m.find("birth date part") != std::string::npos) {
      text = tr("issue.nik_date",
                {{"label", label}, {"part", nik.size() >= 12 ? nik.substr(6, 6) : "?"}});
    } else if (m.find("serial") != std::string::npos) {
      text = tr("issue.nik_serial", {{"label", label}});
    } else {
      return entry + m;
    }
  } else if (r == "nik_birth_date_mismatch" || r == "nik_gender_mismatch") {
    const FieldDef* nik_f = cs.field("nik");
    const std::string nik = str_field(record, "nik");
    if (!nik_f || nik.size() != 16) return issue.message;
    const int dd = std::stoi(nik.substr(6, 2));
    const bool female = dd > 40;
    if (r == "nik_birth_date_mismatch") {
      const std::string birth = str_field(record, f->name);
      const int day = female ? dd - 40 : dd;
      // The NIK holds two year digits; take the century that matches the birth date's.
      std::string century = birth.size() >= 2 ? birth.substr(0, 2) : "19";
      char date[32];
      std::snprintf(date, sizeof date, "%02d-%s-%s%s", day, nik.substr(8, 2).c_str(),
                    century.c_str(), nik.substr(10, 2).c_str());
      text = tr("value.nik_birth_mismatch", {{"nik", field_label(*nik_f)},
                                             {"nik_date", date},
                                             {"birth", label},
                                             {"date", officer_date(birth)}});
    } else {
      text = tr(female ? "issue.nik_gender_woman" : "issue.nik_gender_man",
                {{"nik", field_label(*nik_f)},
                 {"dd", nik.substr(6, 2)},
                 {"gender", label},
                 {"g", str_field(record, f->name)}});
    }
  } else {
    return entry + issue.message;  // a reason this catalogue does not know yet
  }
  return entry + text;
}

}  // namespace lumbung::cli
