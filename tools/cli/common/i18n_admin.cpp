// The sentences of lumbung-admin (the central office's tool), Indonesian beside English.
// Part of the one catalogue of common/i18n.cpp.
#include "common/i18n_catalogue.h"

namespace lumbung::cli::i18n_detail {

void add_admin_entries(Catalogue& c) {
  const Catalogue entries = {
      {"admin.token_file",
       {"tidak bisa membaca berkas token {path}", "cannot read the token file {path}"}},
      {"admin.need_server",
       {"perlu --server URL (atau LUMBUNG_SERVER)", "needs --server URL (or LUMBUNG_SERVER)"}},
      {"admin.need_token",
       {"perlu --token, --token-file atau LUMBUNG_ADMIN_TOKEN",
        "needs --token, --token-file or LUMBUNG_ADMIN_TOKEN"}},
      {"admin.see_help", {"Lihat `lumbung-admin help`.", "See `lumbung-admin help`."}},
      {"admin.unreachable",
       {"server tidak terjangkau ({detail})", "the server cannot be reached ({detail})"}},
      {"admin.unauthorized", {"token ditolak ({detail})", "token refused ({detail})"}},
      {"admin.forbidden",
       {"token ini tidak boleh melakukan itu ({detail}); perlu token admin",
        "this token may not do that ({detail}); an admin token is needed"}},
      {"admin.ambiguous",
       {"{ref} cocok dengan beberapa {what}; tulis lebih panjang",
        "{ref} matches several {what}s; type more of it"}},
      {"admin.not_found", {"tidak ada {what} {ref}", "no {what} {ref}"}},
      {"admin.what_conflict", {"konflik", "conflict"}},
      {"admin.what_duplicate", {"duplikat", "duplicate"}},
      {"admin.need_scope",
       {"codes create perlu --scope, mis. --scope 74.02.01",
        "codes create needs --scope, e.g. --scope 74.02.01"}},
      {"admin.code_made",
       {"Kode pendaftaran: {code}\n  wilayah {scope}; sekali pakai; berlaku sampai {expires}.\n  "
        "Di laptop: lumbung init --server URL --code {code}",
        "Enrolment code: {code}\n  regions {scope}; single use; valid until {expires}.\n  On the "
        "laptop: lumbung init --server URL --code {code}"}},
      {"admin.token_made",
       {"Token {role} (hanya ditampilkan sekali, simpan baik-baik): {token}",
        "{role} token (shown only once, keep it safe): {token}"}},
      {"admin.need_device",
       {"devices revoke perlu id perangkat", "devices revoke needs a device id"}},
      {"admin.revoked",
       {"Perangkat {device} dicabut; permintaan berikutnya darinya ditolak.",
        "Device {device} revoked; its next request is refused."}},
      {"admin.revoked_word", {"DICABUT", "REVOKED"}},
      {"admin.audit_ok",
       {"Log audit utuh: {n} entri, kepala #{seq} {hash}. Simpan titik periksa di luar server: "
        "lumbung-admin audit checkpoint --out BERKAS",
        "Audit log intact: {n} entries, head #{seq} {hash}. Keep a checkpoint off the server: "
        "lumbung-admin audit checkpoint --out FILE"}},
      {"admin.audit_bad",
       {"LOG AUDIT RUSAK di entri #{seq}: {reason}. Riwayat telah diubah atau dihapus.",
        "AUDIT LOG BROKEN at entry #{seq}: {reason}. History was edited or deleted."}},
      {"admin.audit_checkpoint_made",
       {"Titik periksa audit #{count} (kepala {head}, kunci {key}) ditandatangani dan ditulis ke "
        "{path}. Simpan di luar server ini; nanti: lumbung-admin audit verify --checkpoint {path}",
        "Audit checkpoint #{count} (head {head}, key {key}) signed and written to {path}. Keep it "
        "off this server; later: lumbung-admin audit verify --checkpoint {path}"}},
      {"admin.audit_checkpoint_held_ok",
       {"Titik periksa Anda #{count} masih ada dalam rantai, ditandatangani kunci server ini.",
        "Your checkpoint #{count} is still in the chain, signed by this server's key."}},
      {"admin.audit_checkpoint_unreadable",
       {"{path} bukan berkas titik periksa audit (dari audit checkpoint --out)",
        "{path} is not an audit checkpoint file (from audit checkpoint --out)"}},
      {"admin.col.device", {"perangkat", "device"}},
      {"admin.col.label", {"nama", "label"}},
      {"admin.col.scope", {"wilayah", "scope"}},
      {"admin.col.seen", {"terakhir terlihat", "last seen"}},
      {"admin.col.synced", {"sinkron terakhir", "last sync"}},
      {"admin.col.acked", {"seq diterima", "acked seq"}},
      {"admin.col.records", {"rekaman", "records"}},
      {"admin.col.pending", {"menunggu", "pending"}},
      {"admin.col.status", {"status", "status"}},
      {"admin.col.total", {"jumlah", "total"}},
      {"admin.conflicts_hint",
       {"Putuskan: lumbung-admin conflicts resolve ID --keep winner|loser, atau --value NILAI",
        "Decide: lumbung-admin conflicts resolve ID --keep winner|loser, or --value VALUE"}},
      {"admin.resolve_usage",
       {"pakai: conflicts resolve ID --keep winner|loser, atau --value NILAI (salah satu)",
        "use: conflicts resolve ID --keep winner|loser, or --value VALUE (one of them)"}},
      {"admin.resolved",
       {"Konflik {id} diputuskan: {field} = {value}. Keputusan sampai ke laptop pada sinkronisasi "
        "berikutnya.",
        "Conflict {id} resolved: {field} = {value}. It reaches the laptops at their next sync."}},
      {"admin.no_duplicates", {"Tidak ada duplikat.", "No duplicates."}},
      {"admin.dup_header",
       {"Duplikat {id} ({status}): NIK yang sama didaftarkan dua kali",
        "Duplicate {id} ({status}): one NIK enrolled twice"}},
      {"admin.duplicates_hint",
       {"Gabungkan: lumbung-admin duplicates merge ID --survivor A|B (kolom kosong diisi dari yang "
        "lain; yang lain dihapus, riwayatnya tetap)",
        "Merge: lumbung-admin duplicates merge ID --survivor A|B (empty fields are filled from the "
        "other; the other is deleted, its history kept)"}},
      {"admin.merge_usage",
       {"pakai: duplicates merge ID --survivor A|B|ID_REKAMAN",
        "use: duplicates merge ID --survivor A|B|RECORD_ID"}},
      {"admin.bad_survivor",
       {"--survivor {ref} bukan salah satu dari dua rekaman",
        "--survivor {ref} is not one of the two records"}},
      {"admin.merged",
       {"Duplikat {id} digabung ke {survivor}.", "Duplicate {id} merged into {survivor}."}},
      {"admin.progress_total",
       {"Peserta terdaftar ({scope}): {n}", "Enrolled participants ({scope}): {n}"}},
      {"admin.all_regions", {"semua wilayah", "all regions"}},
      {"admin.export_usage",
       {"pakai: export records|progress [--scope KODE] [--out BERKAS]",
        "use: export records|progress [--scope CODE] [--out FILE]"}},
      {"admin.list_more",
       {"{shown} dari {total} ditampilkan. Berikutnya: --after {next}, atau --all-pages untuk "
        "semua.",
        "{shown} of {total} shown. Next: --after {next}, or --all-pages for all."}},
      {"admin.list_cut",
       {"{shown} dari {total} ditampilkan; berhenti setelah {n} halaman. Sisanya: --after {next}.",
        "{shown} of {total} shown; stopped after {n} pages. The rest: --after {next}."}},
  };
  c.insert(entries.begin(), entries.end());
}

}  // namespace lumbung::cli::i18n_detail
