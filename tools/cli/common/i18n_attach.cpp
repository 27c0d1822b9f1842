// The sentences about attachments (lumbung attach / open, the lines of show and sync),
// Indonesian beside English. Part of the one catalogue of common/i18n.cpp.
#include "common/i18n_catalogue.h"

namespace lumbung::cli::i18n_detail {

void add_attach_entries(Catalogue& c) {
  const Catalogue entries = {
      {"attach.usage",
       {"pakai: lumbung attach NIK FIELD FILE (misalnya lumbung attach 7402... foto_ktp ktp.jpg)",
        "usage: lumbung attach NIK FIELD FILE (e.g. lumbung attach 7402... foto_ktp ktp.jpg)"}},
      {"attach.not_attachment",
       {"{field} bukan kolom lampiran (kolom lampiran: {fields})",
        "{field} is not an attachment field (attachment fields: {fields})"}},
      {"attach.no_file", {"file {file} tidak ada atau bukan file", "there is no file {file}"}},
      {"attach.too_large",
       {"{label} terlalu besar: {size}, paling besar {max}",
        "{label} is too large: {size}, at most {max}"}},
      {"attach.shrink_hint",
       {"Perkecil fotonya dulu: atur kamera ke resolusi lebih rendah (mis. 1280x960), atau "
        "kirim ulang foto lewat WhatsApp ke diri sendiri dan simpan hasilnya; foto KTP yang "
        "terbaca jelas cukup 200-400 KB.",
        "Shrink the photo first: set the camera to a lower resolution (e.g. 1280x960), or send "
        "it to yourself through WhatsApp and keep what arrives; a readable KTP photo needs only "
        "200-400 KB."}},
      {"attach.wrong_type",
       {"{label}: jenis file {mime} tidak diterima (yang diterima: {allowed})",
        "{label}: file type {mime} is not accepted (accepted: {allowed})"}},
      {"attach.done",
       {"✓ {label} dilampirkan ({size}); dikirim ke server saat sync berikutnya, setelah rekaman",
        "✓ {label} attached ({size}); sent to the server at the next sync, after the records"}},
      {"attach.state_waiting", {"menunggu dikirim", "waiting to be sent"}},
      {"attach.state_sending", {"terkirim {pct}%", "sending, {pct}% on the server"}},
      {"attach.state_on_server", {"sudah di server", "on the server"}},
      {"attach.state_failed",
       {"gagal dikirim ({error}); dicoba lagi saat sync berikutnya",
        "failed ({error}); tried again at the next sync"}},
      {"attach.state_quota",
       {"belum dikirim: ruang lampiran laptop ini di server penuh; tersimpan di laptop dan "
        "dikirim otomatis saat sync setelah kantor menambah kuota",
        "not sent: this laptop's attachment space on the server is full; kept on the laptop "
        "and sent by a sync once the office raises the quota"}},
      {"attach.state_remote",
       {"di server, belum ada di laptop ini (lumbung open NIK {field})",
        "on the server, not on this laptop (lumbung open NIK {field})"}},
      {"attach.progress",
       {"lampiran {i}/{n}: {pct}% ({sent} dari {size})",
        "attachment {i}/{n}: {pct}% ({sent} of {size})"}},
      {"attach.sent",
       {"Lampiran terkirim: {n} ({up} lewat jaringan)",
        "Attachments sent: {n} ({up} on the link)"}},
      {"attach.failed", {"lampiran {sha}: {error}", "attachment {sha}: {error}"}},
      {"attach.failed_quota",
       {"lampiran {sha}: ruang lampiran di server penuh ({error})",
        "attachment {sha}: the attachment space on the server is full ({error})"}},
      {"attach.quota_todo",
       {"Ruang lampiran laptop ini di server sudah penuh. Rekaman sudah terkirim dan foto tetap "
        "aman di laptop. Minta admin kantor menambah kuota lampiran (lumbung-server "
        "--attachment-quota-mb) atau menghapus lampiran yang tidak terpakai, lalu jalankan "
        "lumbung sync lagi: foto dikirim otomatis.",
        "This laptop's attachment space on the server is full. The records were sent and the "
        "photos are safe on the laptop. Ask the office admin to raise the attachment quota "
        "(lumbung-server --attachment-quota-mb) or remove unused attachments, then run "
        "lumbung sync again: the photos are sent by themselves."}},
      {"attach.failed_total",
       {"{n} lampiran belum terkirim; rekaman tetap terkirim. Dicoba lagi saat sync berikutnya.",
        "{n} attachments not sent; the records were. Tried again at the next sync."}},
      {"open.usage",
       {"pakai: lumbung open NIK FIELD [FILE_KELUAR]", "usage: lumbung open NIK FIELD [OUT_FILE]"}},
      {"open.none", {"rekaman ini belum punya {label}", "this record has no {label}"}},
      {"open.fetching",
       {"mengambil lampiran dari server ({size})...",
        "fetching the attachment from the server ({size})..."}},
      {"open.resuming",
       {"melanjutkan pengambilan lampiran: {kept} dari {size} sudah ada di laptop...",
        "going on with the attachment: {kept} of {size} already on this laptop..."}},
      {"open.cancelled",
       {"Dibatalkan. {kept} dari {size} tersimpan di laptop (terenkripsi); jalankan lumbung "
        "open lagi untuk melanjutkan dari situ.",
        "Cancelled. {kept} of {size} kept on this laptop (sealed); run lumbung open again to go "
        "on from there."}},
      {"open.unreachable",
       {"Server tidak terjangkau ({detail}). {kept} dari {size} tersimpan di laptop; jalankan "
        "lumbung open lagi saat sinyal ada untuk melanjutkan.",
        "The server cannot be reached ({detail}). {kept} of {size} kept on this laptop; run "
        "lumbung open again when there is a signal to go on from there."}},
      {"open.cannot_write",
       {"tidak bisa menulis {file} (sudah ada? pilih nama lain)",
        "cannot write {file} (does it exist? choose another name)"}},
      {"open.done", {"✓ ditulis ke {file} ({size})", "✓ written to {file} ({size})"}},
  };
  c.insert(entries.begin(), entries.end());
}

}  // namespace lumbung::cli::i18n_detail
