// lumbung-admin's review screens (issue 15 item 8, admin/review.cpp and review_view.cpp):
// who an entry is about, what a decision will change before it is taken, and decisions
// already taken.
#include "common/i18n_catalogue.h"

namespace lumbung::cli::i18n_detail {

void add_review_entries(Catalogue& c) {
  c.insert({
      {"review.office", {"kantor pusat", "central office"}},
      {"review.open", {"terbuka", "open"}},
      {"review.col.decision", {"keputusan", "decision"}},
      {"review.decision", {"→ {what} · {who} · {when}", "→ {what} · {who} · {when}"}},
      {"review.kept_record", {"rekaman {id} dipertahankan", "record {id} kept"}},
      {"review.record_deleted", {"rekaman dihapus", "record deleted"}},
      {"review.record_kept", {"rekaman dipertahankan", "record kept"}},
      {"review.enrolled_by", {"didaftarkan oleh {who}", "enrolled by {who}"}},
      {"review.empty", {"(kosong)", "(empty)"}},
      {"review.preview_header",
       {"{id} · {person}. Yang akan berubah:", "{id} · {person}. What will change:"}},
      {"review.preview_field", {"{field}: {from} -> {to}", "{field}: {from} -> {to}"}},
      {"review.preview_record", {"rekaman: {from} -> {to}", "record: {from} -> {to}"}},
      {"review.state_deleted", {"dihapus", "deleted"}},
      {"review.state_live", {"ada", "live"}},
      {"review.unchanged", {"(sama dengan sekarang)", "(as it is now)"}},
      {"review.preview_merged_away",
       {"rekaman {other}: ada -> dihapus, digabung ke {survivor} (riwayatnya tetap tersimpan)",
        "record {other}: live -> deleted, merged into {survivor} (its history is kept)"}},
      {"review.nothing_filled",
       {"(tidak ada kolom yang diisi dari rekaman yang lain)",
        "(no field is filled from the other record)"}},
      {"review.confirm", {"Lanjutkan?", "Go ahead?"}},
      {"review.not_done",
       {"Tidak ada yang diubah. (Untuk skrip: tambahkan --yes.)",
        "Nothing was changed. (For scripts: add --yes.)"}},
      {"review.keep_only",
       {"konflik ubah/hapus diputuskan dengan --keep winner|loser (hapus atau pertahankan "
        "rekamannya), bukan --value",
        "an edit/delete conflict is decided with --keep winner|loser (delete or keep the "
        "record), not --value"}},
      {"review.merge_unseen",
       {"Satu rekaman pasangan ini di luar wilayah token ini; server menolak penggabungannya. "
        "Minta peninjau yang memegang kedua wilayah.",
        "One record of this pair lies outside this token's regions; the server refuses the "
        "merge. Ask a reviewer who holds both regions."}},
      {"review.already_resolved",
       {"Konflik {id} sudah diputuskan: {decision}.\n"
        "Bila keputusan itu keliru, buat keputusan baru: lumbung-admin conflicts correct {id} "
        "--keep winner|loser atau --value NILAI (riwayat keputusan tetap tersimpan). Tidak ada "
        "yang diubah.",
        "Conflict {id} is already decided: {decision}.\n"
        "If that decision was wrong, make a new one: lumbung-admin conflicts correct {id} "
        "--keep winner|loser or --value VALUE (the decisions stay in its history). Nothing was "
        "changed."}},
      {"review.not_decided",
       {"Konflik {id} belum diputuskan, jadi belum ada yang dikoreksi: putuskan dengan "
        "lumbung-admin conflicts resolve {id}. Tidak ada yang diubah.",
        "Conflict {id} is not decided yet, so there is nothing to correct: decide it with "
        "lumbung-admin conflicts resolve {id}. Nothing was changed."}},
      {"review.correcting",
       {"Keputusan yang berlaku sekarang (akan diganti): {decision}",
        "The decision that stands now (to be replaced): {decision}"}},
      {"review.stale_decision",
       {"Keputusan konflik {id} baru saja dikoreksi orang lain; lihat lagi dengan "
        "lumbung-admin conflicts list --status resolved. Tidak ada yang diubah.",
        "Someone else has just corrected the decision of conflict {id}; look again with "
        "lumbung-admin conflicts list --status resolved. Nothing was changed."}},
      {"review.corrected_mark", {"dikoreksi", "corrected"}},
      {"review.correction_opened",
       {"Petugas sudah mengubah nilai ini setelah keputusan pertama: nilainya tidak ditimpa "
        "diam-diam, tetapi dibuka sebagai konflik baru (lumbung-admin conflicts list).",
        "An officer changed this value after the first decision: it was not overwritten "
        "silently but opened as a new conflict (lumbung-admin conflicts list)."}},
      {"admin.corrected",
       {"Konflik {id} dikoreksi (keputusan ke-{n}): {decision}. Keputusan baru sampai ke laptop "
        "pada sinkronisasi berikutnya.",
        "Conflict {id} corrected (decision {n}): {decision}. The new decision reaches the "
        "laptops at their next sync."}},
      {"review.not_merged",
       {"Duplikat {id} belum digabung, jadi belum ada yang dikoreksi: gabungkan dengan "
        "lumbung-admin duplicates merge {id}. Tidak ada yang diubah.",
        "Duplicate {id} is not merged yet, so there is nothing to correct: merge it with "
        "lumbung-admin duplicates merge {id}. Nothing was changed."}},
      {"review.same_survivor",
       {"Rekaman itu sudah dipertahankan oleh keputusan duplikat {id}; koreksi menyebut rekaman "
        "yang lain. Tidak ada yang diubah.",
        "That record already survives in duplicate {id}'s decision; a correction names the "
        "other one. Nothing was changed."}},
      {"review.preview_revived",
       {"rekaman {id}: dihapus -> ada lagi (nilainya kembali)",
        "record {id}: deleted -> live again (its values come back)"}},
      {"admin.merge_corrected",
       {"Duplikat {id} dikoreksi (keputusan ke-{n}): {survivor} dipertahankan. Keputusan baru "
        "sampai ke laptop pada sinkronisasi berikutnya.",
        "Duplicate {id} corrected (decision {n}): {survivor} kept. The new decision reaches "
        "the laptops at their next sync."}},
      {"admin.correct_usage",
       {"pakai: conflicts correct ID --keep winner|loser, atau --value NILAI (salah satu); "
        "--note ALASAN; --yes tanpa bertanya",
        "use: conflicts correct ID --keep winner|loser, or --value VALUE (one of them); --note "
        "WHY; --yes without asking"}},
      {"review.already_merged",
       {"Duplikat {id} sudah digabung: {decision}. Bila rekaman yang salah yang dipertahankan: "
        "lumbung-admin duplicates correct {id} --survivor A|B. Tidak ada yang diubah.",
        "Duplicate {id} is already merged: {decision}. If the wrong record was kept: "
        "lumbung-admin duplicates correct {id} --survivor A|B. Nothing was changed."}},
  });
}

}  // namespace lumbung::cli::i18n_detail
