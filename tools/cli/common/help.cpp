// The reference pages printed by `lumbung help` and `lumbung-admin help`, in both languages.
// docs/CLI.md repeats them with examples; change both together.
#include <string>

#include "common/i18n.h"

namespace lumbung::cli {
namespace {

const char* kExitCodesId = R"(Kode keluar:
  0    berhasil
  1    kesalahan lain (penyimpanan, data rusak)
  2    perintah salah tulis (opsi/argumen), atau laptop belum disiapkan
  3    data ditolak skema atau kode desa di luar wilayah laptop (enrol/edit; import-csv: ada
       baris yang ditolak, baris lain tetap masuk; refused apply: koreksi masih tidak sah;
       migrate: server SQLite masih berjalan atau database tujuan tidak kosong)
  4    rekaman/konflik/duplikat/perangkat tidak ditemukan
  5    server tidak terjangkau (setelah mencoba ulang); data tetap aman di laptop
  6    kredensial atau wilayah ditolak (perangkat dicabut, kode dipakai, peran salah, kata sandi salah)
  130  dibatalkan (Ctrl-C, input habis sebelum pendaftaran selesai, atau jawaban "tidak")
)";

const char* kExitCodesEn = R"(Exit codes:
  0    done
  1    any other error (storage, corrupt data)
  2    wrong command line (option/argument), or the laptop is not set up
  3    input refused by the schema, or a village code outside the laptop's regions (enrol/edit;
       import-csv: some row refused, the others went in; refused apply: still not valid;
       migrate: the SQLite server still runs or the target database is not empty)
  4    record/conflict/duplicate/device not found
  5    the server cannot be reached (after retries); the data stays safe on the laptop
  6    credential or scope refused (device revoked, code used, wrong role, wrong passphrase)
  130  cancelled (Ctrl-C, input ended before an enrolment was complete, or a "no" answer)
)";

const char* kLumbungId =
    R"(lumbung — alat petugas lapangan: mendaftarkan peserta BPJS Ketenagakerjaan tanpa sinyal,
lalu sinkron dengan kantor pusat saat ada sambungan.

Pemakaian: lumbung [--home DIR] [--lang id|en] [--json] [--server URL] [--passphrase-fd N]
                PERINTAH ...

Menyiapkan laptop:
  init --code KODE_PENYIAPAN        (KODE@https://alamat:port#PIN dari lumbung-admin)
  init --server URL [--code KODE] [--ca-file server.crt] [--pin PIN] [--label NAMA]
       [--officer ID] [--unencrypted]
                      kode penyiapan membawa alamat server dan pin kuncinya: sertifikat server
                      diambil dan disimpan hanya bila kuncinya cocok dengan pin. Sertifikat yang
                      ditolak dikatakan begitu (keluar 6), bukan "tidak ada sinyal".
                      siapkan laptop (id perangkat dibuat di sini) dan daftar dengan kode dari
                      kantor pusat; tanpa sinyal kode disimpan dan dipakai saat sync pertama.
                      Menanyakan frasa sandi baru (minimal 10 karakter): data pribadi dan token
                      dienkripsi, dan perubahan pada berkas tanpa frasa sandi ketahuan. Tanpa
                      frasa sandi init menolak, kecuali --unencrypted (hanya uji coba; memberi
                      peringatan)
  init --code KODE    laptop yang sudah terdaftar (dicabut atau diganti): daftar ulang dengan
                      kode yang dibuat kantor pusat untuk laptop ini; data, perubahan yang belum
                      terkirim dan draf tetap, dan terkirim pada sync berikutnya
  config [--officer ID] [--label NAMA] [--server URL]   lihat/ubah pengaturan

Pendaftaran dan rekaman:
  enrol                terpandu: satu kolom demi satu, diperiksa langsung (juga --guided);
                      kode desa harus di wilayah laptop (diketahui saat mendaftar dan tiap sync)
  enrol --nik N --full-name "..." --birth-date 1980-11-19 ...
                      dengan opsi: satu opsi per kolom skema (--programs JKK,JKM)
  drafts [show|resume|delete ID]
                      formulir yang dihentikan (Ctrl-C, "draf", belum lengkap, untuk ditinjau):
                      daftar, lihat, lanjutkan menjadi rekaman, hapus
  list [--village 74.02.01] [--limit N] [--deleted]
  search TEKS | --name TEKS | --nik NIK | --village KODE
                      kata nama mana saja, urutan/huruf bebas; sebagian NIK; kode desa
  show ID|NIK          semua kolom satu rekaman (ID: lengkap atau 8 karakter terakhir)
  edit ID|NIK --set kolom=nilai [--set ...]   (atau --kolom nilai; nilai kosong = hapus isi)
  delete ID|NIK [--force]   bertanya dulu kecuali --force

Berkas CSV (dari/ke spreadsheet):
  import-csv BERKAS|- [--dry-run]
                      baris judul = nama kolom (nik, full_name, ...; kolom id boleh ada).
                      Tiap baris dilaporkan: diimpor / diperbarui / tidak berubah / ditolak + alasan.
                      Dicocokkan dengan id, atau NIK; sel kosong tidak mengubah apa-apa; menjalankan
                      berkas yang sama lagi tidak membuat duplikat. Pemisah , atau ; dikenali sendiri.
                      UTF-8, atau Windows-1252 dari Excel (diubah, dan dikatakan). Nomor baris
                      seperti di spreadsheet.
  export-csv [BERKAS|-] [--village KODE]

Sinkronisasi:
  status               rekaman, perubahan belum terkirim, sinkron terakhir, konflik, ditolak
  conflicts [--all]    konflik yang diketahui laptop ini
  refused [--limit N]  perubahan yang ditolak server (mis. kode desa di luar wilayah laptop):
                      alasannya dan apa yang perlu dilakukan. Perubahan itu disimpan di kantor
                      pusat dan tidak menahan perubahan lain (juga: ditolak)
  sync [--retries N] [--timeout DETIK] [--batch N] [--first-pull auto|snapshot|replay] [--quiet]
                      kirim lalu terima; bilah kemajuan di stderr. Sambungan putus: dicoba ulang
                      dengan jeda bertambah, lalu dilanjutkan dari titik terakhir. Ctrl-C: berhenti
                      dengan rapi di batas permintaan berikutnya (Ctrl-C kedua: berhenti seketika;
                      tetap aman). Jalankan lagi untuk melanjutkan. --first-pull: penerimaan
                      pertama laptop baru: snapshot = rekaman terkini wilayahnya lalu perubahan
                      sesudahnya, replay = seluruh riwayat perubahan, auto = server memilih
                      yang lebih murah (bawaan)
  token rotate         minta token perangkat baru (mis. setelah laptop lepas dari tangan Anda);
                      token lama berlaku sampai yang baru dipakai; data belum terkirim tetap

--json pada list, search, show, status, conflicts, refused, sync, import-csv: keluaran JSON.
Frasa sandi: diketik saat ditanya (tidak tampil di layar), atau dari --passphrase-fd N (satu
baris dari deskriptor N) atau LUMBUNG_PASSPHRASE (untuk skrip). Jangan simpan di berkas.
Lingkungan: LUMBUNG_HOME (default ~/.lumbung), LUMBUNG_LANG, LUMBUNG_SCHEMA, LUMBUNG_PASSPHRASE.

)";

const char* kLumbungEn =
    R"(lumbung — the field officer's tool: enrol BPJS Ketenagakerjaan participants with no signal,
then sync with the central office when a link appears.

Usage: lumbung [--home DIR] [--lang id|en] [--json] [--server URL] [--passphrase-fd N]
              COMMAND ...

Setting up the laptop:
  init --code SETUPCODE             (CODE@https://host:port#PIN from lumbung-admin)
  init --server URL [--code CODE] [--ca-file server.crt] [--pin PIN] [--label NAME]
       [--officer ID] [--unencrypted]
                      a setup code carries the server's address and key pin: the server's
                      certificate is fetched and kept only if its key matches the pin. A refused
                      certificate is called that (exit 6), never "no signal".
                      set up the laptop (its device id is made here) and register with a code
                      from the central office; offline, the code is kept for the first sync.
                      Asks for a new passphrase (at least 10 characters): personal data and the
                      token are encrypted, and a change made to the file without it is caught.
                      Without a passphrase init refuses, unless --unencrypted (tests only; it
                      warns)
  init --code CODE    a laptop already registered (revoked or re-issued): enrol it again with a
                      code the central office made for it; data, unsent changes and drafts
                      stay, and the unsent changes go at the next sync
  config [--officer ID] [--label NAME] [--server URL]   show/change settings

Enrolment and records:
  enrol                guided: one field at a time, checked as you go (also --guided); the
                      village must be in the laptop's regions (learnt at registration, each sync)
  enrol --nik N --full-name "..." --birth-date 1980-11-19 ...
                      with flags: one flag per schema field (--programs JKK,JKM)
  drafts [show|resume|delete ID]
                      forms stopped (Ctrl-C, "draft", incomplete, kept for review): list,
                      show, resume into a record, delete
  list [--village 74.02.01] [--limit N] [--deleted]
  search TEXT | --name TEXT | --nik NIK | --village CODE
                      any words of the name, any order or case; part of a NIK; a village code
  show ID|NIK          every field of one record (ID: whole, or its last 8 characters)
  edit ID|NIK --set field=value [--set ...]   (or --field value; empty value = clear)
  delete ID|NIK [--force]   asks first unless --force

CSV files (from/to a spreadsheet):
  import-csv FILE|- [--dry-run]
                      header row = field names (nik, full_name, ...; an id column is optional).
                      Every row is reported: imported / updated / unchanged / refused + reason.
                      Matched by id, else NIK; empty cells change nothing; re-running the same
                      file creates no duplicates. Separator , or ; is detected. UTF-8, or
                      Windows-1252 from Excel (converted, and said so). Rows numbered as the
                      spreadsheet shows them.
  export-csv [FILE|-] [--village CODE]

Sync:
  status               records, changes not sent, last sync, conflicts, refused changes
  conflicts [--all]    conflicts this laptop knows of
  refused [--limit N]  changes the server refused (e.g. a village outside the laptop's
                      regions): why, and what to do. They are kept at the central office and
                      hold up no other change
  sync [--retries N] [--timeout SECONDS] [--batch N] [--first-pull auto|snapshot|replay] [--quiet]
                      send then receive; progress bar on stderr. A dropped link is retried with
                      growing waits and resumed where it stopped. Ctrl-C stops cleanly at the next
                      request boundary (a second Ctrl-C stops at once; still safe). Run it again
                      to continue. --first-pull: a new laptop's first receive: auto = the server
                      picks the cheaper (default), snapshot = its regions' current records, then
                      the changes after them, replay = the whole history of changes
  token rotate         get a new device token (e.g. after the laptop was out of your hands); the
                      old one works until the new one is used; unsent changes stay

--json on list, search, show, status, conflicts, refused, sync, import-csv: JSON output.
Passphrase: typed when asked (not shown), or from --passphrase-fd N (one line from descriptor
N) or LUMBUNG_PASSPHRASE (for scripts). Never keep it in a file.
Environment: LUMBUNG_HOME (default ~/.lumbung), LUMBUNG_LANG, LUMBUNG_SCHEMA, LUMBUNG_PASSPHRASE.

)";

const char* kAdminId =
    R"(lumbung-admin — alat kantor pusat. Bekerja lewat API HTTP lumbung-server, tidak membuka basis datanya.

Pemakaian: lumbung-admin --server URL (--token TOKEN | --token-file BERKAS) [--lang id|en] [--json] PERINTAH
  (atau LUMBUNG_SERVER, LUMBUNG_ADMIN_TOKEN)   [--ca-file server.crt] [--pin PIN]
  (atau LUMBUNG_CA_FILE, LUMBUNG_PIN)

  codes create --scope 74.02.01[,74.02.02] [--label TEKS] [--expires-hours N]
               [--laptop-server URL]
                      kode pendaftaran sekali pakai untuk satu laptop, dengan wilayahnya, dan
                      kode penyiapan KODE@URL#PIN (alamat dan pin kunci server sekaligus)
  codes create --device ID [--scope ...]
                      kode untuk mendaftarkan ulang laptop ID (dicabut atau diganti): perubahan
                      yang belum terkirim ikut terkirim; tanpa --scope tetap wilayahnya
  codes revoke ID      cabut kode yang belum dipakai (ID dicetak saat kode dibuat)
  tokens create --role reviewer|admin [--label TEKS] [--scope 74.02[,73]] [--expires-hours N]
                      --scope: wilayah token reviewer (tanpa itu: semua wilayah)
  tokens list          token staf: id, peran, nama, wilayah, dibuat, berlaku sampai, dicabut
  tokens revoke ID     cabut token staf (ID atau awalannya yang unik)
  devices list         terakhir terlihat, sinkron terakhir, seq diterima, laporan perangkat,
                      perubahan ditolak yang masih terbuka; MACET = 3 hari tanpa sinkron
  devices revoke ID [--force]
                      cabut perangkat seketika (ID boleh awalannya yang unik); ditolak tanpa
                      --force bila laptop masih punya perubahan yang belum terkirim
  conflicts list [--status open|resolved|all] [--limit N] [--after ID] [--all-pages]
  conflicts resolve ID --keep winner|loser      (ID: lengkap atau awalnya)
  conflicts resolve ID --value NILAI            ketik nilai baru (diperiksa skema)
                      menampilkan dulu yang akan berubah lalu bertanya; --yes tanpa bertanya
  conflicts correct ID --keep winner|loser|--value NILAI [--note ALASAN] [--yes]
                      keputusan baru untuk konflik yang sudah diputuskan (yang lama tetap
                      di riwayat); nilai yang diubah petugas sesudahnya jadi konflik baru
  duplicates list [--status open|merged|all] [--limit N] [--after ID] [--all-pages]
                      dua rekaman berdampingan, ≠ menandai beda
  duplicates merge ID --survivor A|B|ID_REKAMAN [--yes]
  duplicates correct ID --survivor A|B|ID_REKAMAN [--note ALASAN] [--yes]
                      penggabungan mempertahankan rekaman yang salah: yang lain kembali
  refused list [--device ID] [--status open|applied|dismissed|all] [--all-pages]
               [--limit N] [--after ID]
                      perubahan yang ditolak server (di luar wilayah, tidak sah): perangkat,
                      rekaman, alasan, isi perubahan; per halaman (--all-pages: semua)
  refused apply ID [--set kolom=nilai ...]      terapkan, boleh dengan koreksi (diperiksa skema)
  refused dismiss ID [--note TEKS]              tutup tanpa menerapkan
  refused correct ID [--set kolom=nilai ...] [--note TEKS]
                      keputusan baru: yang ditutup diterapkan, yang diterapkan diberi nilai baru
  progress [--scope 74.02] [--csv BERKAS|-]     jumlah per kabupaten/kecamatan/desa, status, program
  export records [--scope 74.02] [--out BERKAS] [--deleted] [--excel]
  export progress [--scope 74.02] [--out BERKAS] [--excel]
                      --excel: pemisah ; dan BOM UTF-8, langsung terbuka di Excel Indonesia
  audit verify [--checkpoint BERKAS]
                      periksa rantai log audit (berkunci), tanda tangan titik periksa, dan
                      titik periksa yang Anda simpan; keluar 1 bila ada yang diubah/dipotong
  audit checkpoint [--out BERKAS]               titik periksa bertanda tangan untuk disimpan
                      di luar server
  audit list [--after SEQ] [--limit N]          siapa melakukan apa (tanpa data pribadi)
  schema publish BERKAS                         terbitkan versi skema berikutnya (diperiksa
                      sebagai penerus; aktif saat server dijalankan ulang)
  schema list                                   versi skema yang dilayani dan langkahnya

  migrate --data DIR --db postgresql://...
                      pindahkan server SQLite yang SUDAH DIHENTIKAN (--data DIR) ke database
                      PostgreSQL yang KOSONG, dalam satu transaksi, diperiksa; laptop tetap
                      sinkron tanpa reset. Membuka database sendiri (tanpa --server/token).
                      Lalu jalankan server dengan --db dan --key-file server SQLite. Ditolak
                      (keluar 3, tidak ada yang diubah) bila server itu masih berjalan atau
                      database tidak kosong

Daftar conflicts, duplicates dan refused per halaman: --limit N, --after ID (dari baris
"Berikutnya"), --all-pages untuk semua halaman.

)";

const char* kAdminEn =
    R"(lumbung-admin — the central office's tool. Works over lumbung-server's HTTP API, never its database.

Usage: lumbung-admin --server URL (--token TOKEN | --token-file FILE) [--lang id|en] [--json] COMMAND
  (or LUMBUNG_SERVER, LUMBUNG_ADMIN_TOKEN)   [--ca-file server.crt] [--pin PIN]
  (or LUMBUNG_CA_FILE, LUMBUNG_PIN)

  codes create --scope 74.02.01[,74.02.02] [--label TEXT] [--expires-hours N]
               [--laptop-server URL]
                      a one-time enrolment code for one laptop, with its regions, and the setup
                      code CODE@URL#PIN (the server's address and key pin in one)
  codes create --device ID [--scope ...]
                      a code that enrols laptop ID again (revoked or re-issued): its unsent
                      changes follow; without --scope it keeps its regions
  codes revoke ID      revoke a code not used yet (its ID is printed when it is made)
  tokens create --role reviewer|admin [--label TEXT] [--scope 74.02[,73]] [--expires-hours N]
                      --scope: a reviewer token's regions (without it: every region)
  tokens list          staff tokens: id, role, label, regions, made, expires, revoked
  tokens revoke ID     revoke a staff token (its ID or a unique prefix)
  devices list         last seen, last sync, acked seq, what each device reported, its open
                      refused changes; STUCK = 3 days without a sync
  devices revoke ID [--force]
                      revoke a device at once (ID may be a unique prefix); refused without
                      --force while the laptop has changes the server lacks
  conflicts list [--status open|resolved|all] [--limit N] [--after ID] [--all-pages]
  conflicts resolve ID --keep winner|loser      (ID: whole or its start)
  conflicts resolve ID --value VALUE            type a new value (checked by the schema)
                      shows what will change first and asks; --yes does not ask
  conflicts correct ID --keep winner|loser|--value VALUE [--note WHY] [--yes]
                      a new decision for a decided conflict (the old one stays in its
                      history); a value an officer changed since becomes a new conflict
  duplicates list [--status open|merged|all] [--limit N] [--after ID] [--all-pages]
                      the two records side by side, ≠ marks differences
  duplicates merge ID --survivor A|B|RECORD_ID [--yes]
  duplicates correct ID --survivor A|B|RECORD_ID [--note WHY] [--yes]
                      the merge kept the wrong record: the other one comes back
  refused list [--device ID] [--status open|applied|dismissed|all] [--all-pages]
               [--limit N] [--after ID]
                      changes the server refused (outside regions, invalid): device, record,
                      reason, what the change was; one page (--all-pages: every page)
  refused apply ID [--set field=value ...]      apply, corrections allowed (checked by the schema)
  refused dismiss ID [--note TEXT]              close without applying
  refused correct ID [--set field=value ...] [--note TEXT]
                      a new decision: a dismissed change applied, an applied one new values
  progress [--scope 74.02] [--csv FILE|-]       counts per kabupaten/kecamatan/desa, status, programme
  export records [--scope 74.02] [--out FILE] [--deleted] [--excel]
  export progress [--scope 74.02] [--out FILE] [--excel]
                      --excel: ';' and a UTF-8 BOM, opens directly in Indonesian Excel
  audit verify [--checkpoint FILE]
                      check the audit log's keyed chain, the signed checkpoints, and one you
                      kept; exit 1 if history was edited or cut
  audit checkpoint [--out FILE]                 a signed checkpoint to keep off the server
  audit list [--after SEQ] [--limit N]          who did what (no personal data)
  schema publish FILE                           publish the next schema version (checked as a
                      successor; active at the server's next start)
  schema list                                   the schema versions served and their steps

  migrate --data DIR --db postgresql://...
                      move a STOPPED SQLite server (its --data DIR) into an EMPTY PostgreSQL
                      database, in one transaction, verified; laptops keep syncing, no reset.
                      Opens the databases itself (no --server, no token). Then start the
                      servers with --db and the SQLite server's --key-file. Refused (exit 3,
                      nothing changed) while that server runs or if the database is not empty

The conflicts, duplicates and refused lists come in pages: --limit N, --after ID (from the
"Next" line), --all-pages for every page.

)";

}  // namespace

std::string help_text(const std::string& key) {
  const bool id = language() == Lang::kIndonesian;
  if (key == "help.admin")
    return std::string(id ? kAdminId : kAdminEn) + (id ? kExitCodesId : kExitCodesEn);
  return std::string(id ? kLumbungId : kLumbungEn) + (id ? kExitCodesId : kExitCodesEn);
}

}  // namespace lumbung::cli
