// The sentences about trusting the office's server (common/trust.h) and setting a laptop
// up, Indonesian beside English. Part of the one catalogue of common/i18n.cpp.
#include "common/i18n_catalogue.h"

namespace lumbung::cli::i18n_detail {

void add_trust_entries(Catalogue& c) {
  const Catalogue entries = {
      {"trust.bad_url",
       {"alamat server {url} bukan alamat https://host:port",
        "the server address {url} is not an https://host:port address"}},
      {"trust.cannot_connect",
       {"server {server} tidak terjangkau", "server {server} cannot be reached"}},
      {"trust.no_tls",
       {"server {server} tidak menjawab dengan TLS (apakah alamatnya http://, bukan https://?)",
        "server {server} did not answer with TLS (is its address http://, not https://?)"}},
      {"trust.bad_pin",
       {"pin kunci server \"{pin}\" tidak benar: pin adalah 64 digit heksadesimal (0-9, a-f), "
        "yang tercetak oleh lumbung-server sebagai \"tls pin sha256\"; yang diberikan berisi "
        "{n} karakter setelah titik dua dan spasi dibuang",
        "the server key pin \"{pin}\" is not right: a pin is 64 hexadecimal digits (0-9, a-f), "
        "as lumbung-server prints it (\"tls pin sha256\"); the one given has {n} characters once "
        "colons and spaces are removed"}},
      {"trust.pin_needs_https",
       {"pin kunci hanya berlaku untuk alamat server https://, bukan http://",
        "a key pin only applies to an https:// server address, not http://"}},
      {"trust.setup_no_code",
       {"kode penyiapan tidak berisi kode pendaftaran sebelum '@' (bentuknya KODE@https://"
        "alamat:port#PIN)",
        "the setup code has no enrolment code before '@' (its form is "
        "CODE@https://host:port#PIN)"}},
      {"trust.setup_bad_server",
       {"alamat server \"{server}\" di kode penyiapan tidak diawali http:// atau https:// "
        "(bentuknya KODE@https://alamat:port#PIN)",
        "the server address \"{server}\" in the setup code does not start with http:// or "
        "https:// (its form is CODE@https://host:port#PIN)"}},
      {"trust.setup_server_differs",
       {"--server {flag} berbeda dengan alamat di kode penyiapan ({setup}); pakai salah satu",
        "--server {flag} differs from the address in the setup code ({setup}); give one"}},
      {"trust.bad_ca_file",
       {"berkas sertifikat {path} tidak terbaca atau tidak berisi sertifikat PEM (berkas "
        "server.crt dari kantor, yang diawali \"-----BEGIN CERTIFICATE-----\")",
        "the certificate file {path} cannot be read or holds no PEM certificate (the office's "
        "server.crt, beginning \"-----BEGIN CERTIFICATE-----\")"}},
      {"trust.pin_mismatch_at_setup",
       {"Kunci server {server} TIDAK cocok dengan pin dari kantor (server memberi {got}, pin "
        "{want}). Bisa jadi ini bukan server kantor (ada yang menyadap jaringan), atau pin "
        "salah ketik. Laptop tidak mendaftar dan tidak mengirim apa pun. Periksa pin bersama "
        "kantor pusat.",
        "The key of server {server} does NOT match the office's pin (the server gave {got}, "
        "the pin is {want}). This may not be the office's server (someone on the network), or "
        "the pin was mistyped. The laptop did not register and sent nothing. Check the pin with "
        "the central office."}},
      {"trust.cert_kept",
       {"Sertifikat server {server} cocok dengan pin dan disimpan di {path}; setiap sinkronisasi "
        "memeriksanya.",
        "The certificate of server {server} matches the pin and is kept in {path}; every sync "
        "checks it."}},
      {"trust.ca_kept",
       {"Sertifikat kantor disimpan di {path}.", "The office's certificate is kept in {path}."}},
      {"trust.pin_kept_offline",
       {"Server belum terjangkau: pin disimpan, sertifikatnya diambil dan diperiksa pada "
        "`lumbung sync` pertama.",
        "The server cannot be reached yet: the pin is kept; its certificate is fetched and "
        "checked at the first `lumbung sync`."}},
      {"trust.refused_untrusted",
       {"Laptop menolak server {server}: sertifikat TLS-nya tidak dipercaya ({detail}). Ini "
        "BUKAN masalah sinyal: server terjangkau, tetapi laptop tidak bisa memastikan bahwa itu "
        "server kantor, jadi tidak ada data yang dikirim. Minta kode penyiapan (KODE@https://"
        "alamat#PIN) ke kantor pusat dan jalankan `lumbung init --code KODE_PENYIAPAN`, atau "
        "`lumbung init --server {server} --ca-file server.crt --pin PIN`.",
        "The laptop refused server {server}: its TLS certificate is not trusted ({detail}). "
        "This is NOT a signal problem: the server answered, but the laptop cannot be sure it is "
        "the office's, so nothing was sent. Ask the central office for a setup code "
        "(CODE@https://host#PIN) and run `lumbung init --code SETUPCODE`, or `lumbung init "
        "--server {server} --ca-file server.crt --pin PIN`."}},
      {"trust.refused_pin",
       {"Laptop menolak server {server}: kuncinya tidak cocok dengan pin kantor ({detail}). Ini "
        "BUKAN masalah sinyal. Bisa jadi ada yang menyadap jaringan, atau kantor mengganti "
        "sertifikat server. Tidak ada data yang dikirim; jangan ulangi di jaringan ini dan "
        "hubungi kantor pusat untuk pin yang benar.",
        "The laptop refused server {server}: its key does not match the office's pin "
        "({detail}). This is NOT a signal problem. Someone may be intercepting the network, or "
        "the office replaced the server's certificate. Nothing was sent; do not retry on this "
        "network, and ask the central office for the right pin."}},
      // --- lumbung-admin devices (admin/devices.cpp) ---
      {"admin.never", {"belum pernah", "never"}},
      {"admin.no_devices",
       {"Belum ada laptop terdaftar. Buat kode: lumbung-admin codes create --scope ...",
        "No laptop registered yet. Make a code: lumbung-admin codes create --scope ..."}},
      {"admin.flag_stuck", {"MACET", "STUCK"}},
      {"admin.flag_refused", {"{n} DITOLAK", "{n} REFUSED"}},
      {"admin.col.pending_reported", {"belum terkirim", "not sent"}},
      {"admin.col.attention", {"perhatian", "attention"}},
      {"admin.devices_legend",
       {"belum terkirim = perubahan yang belum sampai di server menurut laporan laptop saat "
        "sinkron terakhirnya, dikurangi yang diterima server sesudahnya. MACET = tidak "
        "sinkron 3 hari padahal masih ada perubahan "
        "menunggu, atau terdaftar 3 hari tanpa pernah sinkron. DITOLAK = perubahan yang "
        "disisihkan server dan menunggu kantor (lumbung-admin refused list --device ID).",
        "not sent = changes the laptop reported at its last sync, less those the server took "
        "since. "
        "STUCK = no sync for 3 days while changes were waiting, or registered 3 days ago and "
        "never synced. REFUSED = changes the server set aside, waiting for the office "
        "(lumbung-admin refused list --device ID)."}},
      {"admin.revoke_unsent",
       {"Laptop {device} masih punya {n} perubahan yang belum terkirim ke server (sinkron "
        "terakhir: {when}). Setelah dicabut, server menolak semua kiriman darinya, jadi "
        "perubahan itu baru terkirim setelah laptop didaftarkan ulang dengan kode khusus "
        "untuknya (lumbung-admin codes create --device {device}). Biarkan laptop itu sinkron "
        "dulu; laptop hilang atau dicuri: lumbung-admin devices revoke {device} --force. Belum "
        "ada yang dicabut.",
        "Laptop {device} still has {n} changes the server does not have (last sync: {when}). "
        "Once revoked, the server refuses everything from it, so those changes are sent only "
        "after the laptop is enrolled again with a code made for it (lumbung-admin codes "
        "create --device {device}). Let it sync first; a lost or stolen laptop: lumbung-admin "
        "devices revoke {device} --force. Nothing was revoked."}},
      // --- lumbung sync on a revoked laptop (cmd_sync.cpp) ---
      {"sync.revoked",
       {"Kantor pusat telah mencabut laptop ini: server menolak semua kirimannya. {pending} "
        "perubahan yang belum terkirim tetap aman di laptop ini dan terkirim setelah laptop "
        "didaftarkan ulang: minta kode pendaftaran untuk laptop ini ke kantor pusat, lalu "
        "lumbung init --code KODE. Jangan hapus folder laptop ini.",
        "The central office has revoked this laptop: the server refuses everything from it. The "
        "{pending} changes not yet sent stay safe on this laptop and are sent once it is "
        "enrolled again: ask the central office for an enrolment code for this laptop, then "
        "lumbung init --code CODE. Do not delete this laptop's folder."}},
      // --- lumbung-admin audit list (admin/reports.cpp) ---
      {"admin.col.who", {"siapa", "who"}},
      {"admin.col.action", {"tindakan", "action"}},
      {"admin.col.audit_target", {"sasaran", "target"}},
      {"admin.col.detail", {"rincian", "detail"}},
      {"admin.audit_empty", {"Log audit kosong.", "The audit log is empty."}},
      {"admin.audit_more",
       {"Masih ada lagi: lumbung-admin audit list --after {next}",
        "There is more: lumbung-admin audit list --after {next}"}},
      {"admin.device_ambiguous",
       {"{ref} cocok dengan beberapa perangkat ({list}); tulis lebih panjang",
        "{ref} matches several devices ({list}); type more of it"}},
      {"admin.device_unknown",
       {"tidak ada perangkat {ref} (lihat lumbung-admin devices list)",
        "no device {ref} (see lumbung-admin devices list)"}},
      // --- lumbung-admin tokens list / revoke (admin/tokens.cpp) ---
      {"admin.col.token", {"token", "token"}},
      {"admin.col.role", {"peran", "role"}},
      {"admin.col.made", {"dibuat", "made"}},
      {"admin.col.expires", {"berlaku sampai", "expires"}},
      {"admin.no_expiry", {"tanpa batas", "never"}},
      {"admin.no_tokens", {"Tidak ada token staf.", "No staff tokens."}},
      {"admin.token_expired_word", {"KEDALUWARSA", "EXPIRED"}},
      {"admin.token_revoked",
       {"Token {id} ({role}, {label}) dicabut: permintaan berikutnya dengan token itu ditolak.",
        "Token {id} ({role}, {label}) revoked: its next request is refused."}},
      {"admin.need_token_id",
       {"sebutkan id token (kolom pertama `lumbung-admin tokens list`)",
        "name the token's id (the first column of `lumbung-admin tokens list`)"}},
      {"admin.what_token", {"token", "token"}},
      {"admin.tls_refused",
       {"sertifikat TLS server ditolak ({detail}); ini bukan masalah jaringan. Berikan "
        "--ca-file server.crt dan/atau --pin PIN (atau LUMBUNG_CA_FILE / LUMBUNG_PIN)",
        "the server's TLS certificate was refused ({detail}); this is not a network problem. "
        "Give --ca-file server.crt and/or --pin PIN (or LUMBUNG_CA_FILE / LUMBUNG_PIN)"}},
      {"sync.schema_refused",
       {"Skema versi {version} dari server DITOLAK dan tidak dipakai ({detail}). Laptop ini "
        "tetap memakai skema versi {mine}; datanya tetap tersinkron. Laporkan ke kantor pusat.",
        "Schema version {version} from the server was REFUSED and not used ({detail}). This "
        "laptop stays on schema version {mine}; its records still sync. Tell the central "
        "office."}},
      {"admin.setup_code",
       {"Kode penyiapan untuk laptop (alamat server, pin kunci dan kode sekaligus; "
        "`lumbung init --code` cukup dengan ini):\n  {setup}",
        "Setup code for the laptop (server address, key pin and code in one; `lumbung init "
        "--code` needs nothing else):\n  {setup}"}},
  };
  c.insert(entries.begin(), entries.end());
}

}  // namespace lumbung::cli::i18n_detail
