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
      {"admin.code_for_device",
       {"  hanya untuk laptop {device}: mendaftarkannya ulang (perubahan yang belum terkirim "
        "ikut terkirim); tidak bisa dipakai laptop lain.",
        "  for laptop {device} only: enrols it again (its unsent changes follow); no other "
        "laptop can use it."}},
      {"admin.code_id",
       {"  id kode {id} (untuk mencabutnya: lumbung-admin codes revoke {id})",
        "  code id {id} (to revoke it: lumbung-admin codes revoke {id})"}},
      {"admin.need_code_id",
       {"codes revoke perlu id kode (16 digit heksadesimal, dicetak saat kode dibuat)",
        "codes revoke needs a code id (16 hex digits, printed when the code was made)"}},
      {"admin.code_revoked",
       {"Kode pendaftaran {id} dicabut; kode itu tidak bisa lagi mendaftarkan laptop.",
        "Enrolment code {id} revoked; it can no longer register a laptop."}},
      {"admin.code_revoked_used",
       {"Kode ini sudah dipakai perangkat {device}; untuk menghentikannya: lumbung-admin devices "
        "revoke {device}",
        "This code was already used by device {device}; to stop that device: lumbung-admin "
        "devices revoke {device}"}},
      {"admin.token_regions",
       {"  wilayah: {scope} (hanya di sini token ini melihat dan bertindak)",
        "  regions: {scope} (the only ones this token sees and acts in)"}},
      {"admin.token_every_region",
       {"  semua wilayah (kantor pusat nasional; --scope 74.02 membatasinya)",
        "  every region (the national office; --scope 74.02 limits it)"}},
      {"admin.token_expires",
       {"  id {id}; berlaku sampai {expires}", "  id {id}; valid until {expires}"}},
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
       {"pakai: conflicts resolve ID --keep winner|loser, atau --value NILAI (salah satu); "
        "--yes tanpa bertanya",
        "use: conflicts resolve ID --keep winner|loser, or --value VALUE (one of them); --yes "
        "without asking"}},
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
       {"pakai: duplicates merge ID --survivor A|B|ID_REKAMAN [--yes]",
        "use: duplicates merge ID --survivor A|B|RECORD_ID [--yes]"}},
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
      {"admin.schema_need_file",
       {"schema publish perlu berkas skema", "schema publish needs a schema file"}},
      {"admin.schema_cannot_read",
       {"tidak bisa membaca berkas skema {path}", "cannot read the schema file {path}"}},
      {"admin.schema_not_json", {"{path} bukan dokumen JSON", "{path} is not a JSON document"}},
      {"admin.schema_published",
       {"Skema versi {version} diterbitkan; server memakainya sekarang ({moved} rekaman "
        "dipindahkan ke nama field barunya). Versi aktif: {active}.",
        "Schema version {version} published; the server uses it now ({moved} records moved "
        "to its field names). Active: version {active}."}},
      {"admin.schema_versions",
       {"Skema aktif: versi {active}; terbaru yang diterbitkan: versi {newest}.",
        "Active schema: version {active}; newest published: version {newest}."}},
      // lumbung-admin migrate (tools/cli/admin/migrate.cpp)
      {"admin.migrate_usage",
       {"pakai: migrate --data DIR --db postgresql://... [--attachments DIR2]  (DIR: --data "
        "server SQLite; URL: database PostgreSQL yang kosong; DIR2: --attachments server SQLite "
        "bila bukan DIR/attachments)",
        "use: migrate --data DIR --db postgresql://... [--attachments DIR2]  (DIR: the SQLite "
        "server's --data; URL: an empty PostgreSQL database; DIR2: the SQLite server's "
        "--attachments if not DIR/attachments)"}},
      {"admin.migrate_no_db",
       {"tidak ada lumbung-server.db di {dir}: bukan direktori --data lumbung-server",
        "no lumbung-server.db in {dir}: not a lumbung-server --data directory"}},
      {"admin.migrate_in_use",
       {"database {path} sedang dibuka proses lain (lumbung-server masih berjalan?). Hentikan "
        "server itu lalu jalankan migrate lagi. Tidak ada yang diubah.",
        "the database {path} is open in another process (is lumbung-server still running?). "
        "Stop that server, then run migrate again. Nothing was changed."}},
      {"admin.migrate_source_mismatch",
       {"database SQLite tidak sesuai versi ini ({detail}). Jalankan lumbung-server versi ini "
        "sekali pada --data itu, hentikan, lalu jalankan migrate lagi. Tidak ada yang diubah.",
        "the SQLite database does not match this version ({detail}). Start this version of "
        "lumbung-server once on that --data, stop it, then run migrate again. Nothing was "
        "changed."}},
      {"admin.migrate_not_empty",
       {"database PostgreSQL tujuan tidak kosong ({detail}). Migrate hanya mengisi database "
        "baru yang kosong (createdb). Tidak ada yang diubah.",
        "the target PostgreSQL database is not empty ({detail}). migrate only fills a new, "
        "empty database (createdb). Nothing was changed."}},
      {"admin.migrate_table", {"  {table}: {n} baris", "  {table}: {n} rows"}},
      {"admin.migrate_done",
       {"Selesai dalam {seconds} detik, dalam satu transaksi. Diperiksa: jumlah baris tiap "
        "tabel, posisi oplog sampai {max_pos}, seq yang diakui {devices} perangkat.",
        "Done in {seconds} s, in one transaction. Verified: rows of every table, oplog "
        "positions up to {max_pos}, the acked seq of {devices} devices."}},
      {"admin.migrate_epoch",
       {"Riwayat baru {epoch} mulai di posisi {start}; kursor laptop tetap berlaku (tanpa "
        "reset).",
        "New history {epoch} starts at position {start}; laptops' cursors stay valid (no "
        "reset)."}},
      {"admin.migrate_next",
       {"Berikutnya: jalankan server dengan  lumbung-server --db URL --key-file {key_file}  "
        "(berkas kunci yang sama dengan server SQLite, kunci {key_id}){attachments}. Jangan "
        "jalankan lagi server SQLite pada {dir}.",
        "Next: start the servers with  lumbung-server --db URL --key-file {key_file}  (the "
        "SQLite server's key file, key {key_id}){attachments}. Do not start the SQLite server "
        "on {dir} again."}},
      {"admin.migrate_attachments",
       {". {n} lampiran ({bytes} byte) sudah disalin ke basis data: tanpa --attachments, "
        "semua server memakainya bersama",
        ". {n} attachments ({bytes} bytes) were copied into the database: without "
        "--attachments every server shares them"}},
  };
  c.insert(entries.begin(), entries.end());
}

}  // namespace lumbung::cli::i18n_detail
