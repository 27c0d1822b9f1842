// The sentences about the laptop's regions and about refused changes (changes the server
// acknowledged but did not apply; docs/PROTOCOL.md "Refused ops"), for both tools,
// Indonesian beside English. Part of the one catalogue of common/i18n.cpp.
//
// A refused change is explained per error code (`lumbung refused`): what is wrong, in
// words, and what the officer does next. Nothing is lost and nothing waits behind it: the
// office has the change with its data in the refused queue.
#include "common/i18n_catalogue.h"

namespace lumbung::cli::i18n_detail {

void add_refused_entries(Catalogue& c) {
  const Catalogue entries = {
      // --- the laptop's regions (enrol, edit, import-csv) ---
      {"region.outside",
       {"{label} {village} di luar wilayah laptop ini ({regions}). Periksa kodenya; bila orang "
        "ini memang tinggal di wilayah lain, ia didaftarkan oleh petugas wilayah itu.",
        "{label} {village} is outside this laptop's regions ({regions}). Check the code; if the "
        "person really lives in another region, the officer of that region enrols them."}},
      {"record.moved_away",
       {"rekaman {ref} sudah pindah ke luar wilayah laptop ini dan tidak bisa diubah di sini "
        "lagi; kantor pusat dan petugas wilayah barunya yang memegangnya",
        "record {ref} moved out of this laptop's regions and can no longer be changed here; the "
        "central office and the officers of its new region have it"}},
      {"import.moved_away",
       {"rekaman {id} sudah pindah ke luar wilayah laptop ini",
        "record {id} moved out of this laptop's regions"}},
      // --- lumbung status / sync ---
      {"status.regions",
       {"Wilayah laptop:            {regions}", "Regions:                   {regions}"}},
      {"status.refused", {"Perubahan ditolak server:  {n}", "Refused by the server:      {n}"}},
      {"status.hint_refused",
       {"{n} perubahan ditolak server dan disimpan di kantor pusat; perubahan lain tetap "
        "terkirim. Lihat `lumbung refused`: alasannya dan apa yang perlu dilakukan.",
        "{n} changes were refused by the server and are kept at the central office; the other "
        "changes still go through. See `lumbung refused`: why, and what to do."}},
      {"sync.refused_now",
       {"{n} perubahan ditolak server pada sinkronisasi ini. Perubahan itu disimpan di kantor "
        "pusat dan tidak menahan yang lain. Lihat `lumbung refused`.",
        "{n} changes were refused by the server in this sync. They are kept at the central "
        "office and hold nothing else up. See `lumbung refused`."}},
      // --- lumbung refused ---
      {"refused.none",
       {"Tidak ada perubahan yang ditolak server.", "No changes were refused by the server."}},
      {"refused.header",
       {"Perubahan yang ditolak server ({n}), terbaru dulu:",
        "Changes the server refused ({n}), newest first:"}},
      {"refused.entry",
       {"{n}. {who} — perubahan #{seq}, ditolak {when}",
        "{n}. {who} — change #{seq}, refused {when}"}},
      {"refused.record_gone",
       {"rekaman {id} (tidak ada lagi di laptop ini)", "record {id} (no longer on this laptop)"}},
      {"refused.reason_label", {"Alasan", "Why"}},
      {"refused.todo_label", {"Yang perlu dilakukan", "What to do"}},
      {"refused.typed_label", {"Yang diketik", "What was typed"}},
      {"refused.server_said", {"Keterangan server", "The server said"}},
      {"refused.more",
       {"{shown} dari {n} ditampilkan; --limit 0 untuk semua.",
        "{shown} of {n} shown; --limit 0 for all."}},
      {"refused.footer",
       {"Perubahan yang ditolak tidak menahan yang lain: rekaman dan perubahan lain tetap "
        "terkirim saat sinkronisasi. Kantor pusat melihat setiap penolakan beserta datanya.",
        "A refused change holds nothing else up: the other records and changes still go "
        "through at every sync. The central office sees each refusal with its data."}},
      {"refused.out_of_scope",
       {"{label} {village} di luar wilayah laptop ini ({regions}).",
        "{label} {village} is outside this laptop's regions ({regions})."}},
      {"refused.out_of_scope_todo",
       {"Kantor pusat akan memperbaiki kode desanya atau memindahkan rekaman ini ke petugas "
        "wilayah itu. Bila kode desa salah ketik, perbaiki: lumbung edit {id} --set "
        "{field}=KODE_BENAR, lalu lumbung sync; kantor pusat melihat perbaikan itu juga.",
        "The central office will correct its village code or move the record to the officer of "
        "that region. If the village code is a typo, correct it: lumbung edit {id} --set "
        "{field}=RIGHT_CODE, then lumbung sync; the central office sees the correction too."}},
      {"refused.moved",
       {"Di server rekaman ini sudah berada di luar wilayah laptop ini: petugas lain atau kantor "
        "pusat memindahkannya ke desa lain sebelum perubahan ini sampai.",
        "On the server this record is already outside this laptop's regions: another officer or "
        "the central office moved it to another village before this change arrived."}},
      {"refused.moved_todo",
       {"Tidak ada yang perlu dilakukan di laptop ini: perubahan Anda disimpan di kantor pusat, "
        "yang akan menerapkannya atau menutupnya.",
        "Nothing to do on this laptop: your change is kept at the central office, which will "
        "apply it or close it."}},
      {"refused.creation_refused",
       {"Pendaftaran rekaman ini sudah ditolak sebelumnya; perubahan ini ikut menunggu bersama "
        "pendaftaran itu di kantor pusat.",
        "This record's enrolment was refused earlier; this change waits with it at the central "
        "office."}},
      {"refused.creation_refused_todo",
       {"Tidak perlu mengetik ulang: kantor pusat menerapkan perubahan ini setelah pendaftarannya "
        "diperbaiki.",
        "No need to type it again: the central office applies this change once the enrolment is "
        "fixed."}},
      {"refused.invalid",
       {"Data tidak diterima aturan server: {issue}",
        "The server's rules refuse the data: {issue}"}},
      {"refused.invalid_field",
       {"{label} tidak diterima aturan server.", "The server's rules refuse {label}."}},
      {"refused.invalid_todo",
       {"Perbaiki: lumbung edit {id} --set {field}=NILAI_BENAR, lalu lumbung sync; atau kantor "
        "pusat memperbaikinya di daftar penolakan.",
        "Correct it: lumbung edit {id} --set {field}=RIGHT_VALUE, then lumbung sync; or the "
        "central office corrects it in its refused list."}},
      {"refused.office_todo",
       {"Kantor pusat memeriksanya di daftar penolakan dan akan menerapkan atau menutupnya; "
        "hubungi kantor pusat bila mendesak.",
        "The central office checks it in its refused list and will apply or close it; call them "
        "if it is urgent."}},
      {"refused.unknown_field",
       {"Kolom \"{field}\" tidak dikenal server: skema di laptop ini berbeda dengan server.",
        "The server does not know the field \"{field}\": this laptop's schema differs from the "
        "server's."}},
      {"refused.unknown_collection",
       {"Jenis data \"{collection}\" tidak dikenal server: skema di laptop ini berbeda dengan "
        "server.",
        "The server does not know the collection \"{collection}\": this laptop's schema differs "
        "from the server's."}},
      {"refused.schema_todo",
       {"Hubungi kantor pusat: laptop ini mungkin perlu skema atau versi Lumbung yang baru. "
        "Perubahannya disimpan di kantor pusat.",
        "Contact the central office: this laptop may need a new schema or Lumbung version. The "
        "change is kept at the central office."}},
      {"refused.rate_limited",
       {"Laptop ini membuka terlalu banyak entri tinjauan (konflik, duplikat) dalam satu jam, "
        "jadi server menyisihkan perubahan ini.",
        "This laptop opened too many review entries (conflicts, duplicates) within an hour, so "
        "the server set this change aside."}},
      {"refused.rate_limited_todo",
       {"Tidak perlu mengetik ulang: kantor pusat menerapkannya dari daftar penolakan. Bila "
        "banyak, periksa apakah daftar yang sama diimpor berulang kali, dan hubungi kantor "
        "pusat.",
        "No need to type it again: the central office applies it from its refused list. If "
        "there are many, check whether the same list was imported again and again, and call "
        "the central office."}},
      {"refused.other", {"Ditolak server ({code}).", "Refused by the server ({code})."}},
      // --- lumbung-admin refused ---
      {"admin.col.refused", {"ditolak", "refused"}},
      {"admin.col.when", {"waktu", "when"}},
      {"admin.col.reason", {"alasan", "reason"}},
      {"admin.col.change", {"perubahan", "change"}},
      {"admin.col.target", {"wilayah", "region"}},
      {"admin.col.message", {"keterangan", "message"}},
      {"reason.out_of_scope", {"di luar wilayah", "outside regions"}},
      {"reason.validation_failed", {"data tidak sah", "invalid data"}},
      {"reason.unknown_field", {"kolom tak dikenal", "unknown field"}},
      {"reason.unknown_collection", {"koleksi tak dikenal", "unknown collection"}},
      {"reason.rate_limited", {"batas tinjauan per jam", "hourly review budget"}},
      {"admin.held_message", {"{id}: {message}", "{id}: {message}"}},
      {"reason.held_for_review",
       {"draf untuk ditinjau (KTP tidak konsisten)", "draft for review (KTP inconsistent)"}},
      {"admin.change_delete", {"hapus rekaman", "delete the record"}},
      {"admin.change_create", {"rekaman baru", "new record"}},
      {"admin.no_refused", {"Tidak ada perubahan yang ditolak.", "No refused changes."}},
      {"admin.refused_hint",
       {"Terapkan (boleh dengan koreksi): lumbung-admin refused apply ID [--set kolom=nilai]; "
        "tutup tanpa menerapkan: lumbung-admin refused dismiss ID [--note TEKS]",
        "Apply (corrections allowed): lumbung-admin refused apply ID [--set field=value]; close "
        "without applying: lumbung-admin refused dismiss ID [--note TEXT]"}},
      {"admin.refused_usage",
       {"pakai: refused list [--device ID] [--status open|applied|dismissed|all] [--all-pages] | "
        "refused apply ID [--set kolom=nilai ...] | refused dismiss ID [--note TEKS] | "
        "refused correct ID [--set kolom=nilai ...] [--note TEKS]",
        "use: refused list [--device ID] [--status open|applied|dismissed|all] [--all-pages] | "
        "refused apply ID [--set field=value ...] | refused dismiss ID [--note TEXT] | "
        "refused correct ID [--set field=value ...] [--note TEXT]"}},
      {"admin.refused_bad_status",
       {"--status harus open, applied, dismissed atau all",
        "--status must be open, applied, dismissed or all"}},
      {"admin.refused_corrected",
       {"Keputusan perubahan {id} dikoreksi (keputusan ke-{n}): diterapkan{fields}. Sampai ke "
        "laptop pada sinkronisasi berikutnya.",
        "Change {id} corrected (decision {n}): applied{fields}. It reaches the laptops at their "
        "next sync."}},
      {"admin.refused_not_decided",
       {"Perubahan {id} belum diputuskan, jadi belum ada yang dikoreksi: pakai refused apply "
        "atau refused dismiss. Tidak ada yang diubah.",
        "Change {id} is not decided yet, so there is nothing to correct: use refused apply or "
        "refused dismiss. Nothing was changed."}},
      {"admin.refused_correct_set",
       {"Perubahan {id} sudah diterapkan; koreksinya memberi nilai baru: --set kolom=nilai. "
        "Membatalkan perubahan yang sudah diterapkan belum bisa. Tidak ada yang diubah.",
        "Change {id} is already applied; its correction gives new values: --set field=value. "
        "Undoing an applied change is not possible. Nothing was changed."}},
      {"admin.refused_stale",
       {"Keputusan perubahan {id} baru saja dikoreksi orang lain; lihat lagi dengan refused list "
        "--status all. Tidak ada yang diubah.",
        "Someone else has just corrected the decision of change {id}; look again with refused "
        "list --status all. Nothing was changed."}},
      {"admin.refused_applied",
       {"Perubahan {id} diterapkan{fields}. Sampai ke laptop pada sinkronisasi berikutnya.",
        "Change {id} applied{fields}. It reaches the laptops at their next sync."}},
      {"admin.refused_with", {" dengan koreksi {fields}", " with corrections {fields}"}},
      {"admin.refused_conflicts",
       {"{n} konflik baru dibuka (perubahan lain yang belum dilihat petugas): lumbung-admin "
        "conflicts list",
        "{n} new conflicts opened (writes the officer had not seen): lumbung-admin conflicts "
        "list"}},
      {"admin.refused_dismissed",
       {"Perubahan {id} ditutup tanpa diterapkan.", "Change {id} closed without applying it."}},
      {"admin.refused_not_open",
       {"Perubahan {id} tidak terbuka lagi ({detail}); tidak ada yang diubah.",
        "Change {id} is no longer open ({detail}); nothing changed."}},
      {"admin.refused_not_found", {"tidak ada perubahan ditolak {id}", "no refused change {id}"}},
      {"admin.refused_still_invalid",
       {"Masih tidak sah, tidak ada yang diubah:", "Still not valid, nothing changed:"}},
      {"admin.refused_counts_cut",
       {"(jumlah ditolak: dari halaman pertama saja; server ini tidak memberi total)",
        "(refused counts: from the first page only; this server gives no totals)"}},
  };
  c.insert(entries.begin(), entries.end());
}

}  // namespace lumbung::cli::i18n_detail
