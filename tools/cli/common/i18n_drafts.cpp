// The sentences of the guided form's keys and of drafts (lumbung/enrol_form.h, drafts.h),
// Indonesian beside English. Part of the one catalogue of common/i18n.cpp.
#include "common/i18n_catalogue.h"

namespace lumbung::cli::i18n_detail {

void add_draft_entries(Catalogue& c) {
  const Catalogue entries = {
      {"form.keys",
       {"Ketik - untuk melewati kolom dulu (ditanya lagi di akhir), < untuk kembali ke kolom "
        "sebelumnya, draf untuk berhenti dan menyimpan formulir sebagai draf. Ctrl-C juga "
        "menyimpan draf.",
        "Type - to leave a field for now (asked again at the end), < to go back to the previous "
        "field, draft to stop and keep the form as a draft. Ctrl-C keeps a draft too."}},
      {"form.skip_hint", {"(ketik - untuk mengisinya nanti)", "(type - to fill it in later)"}},
      {"form.review_hint",
       {"Bila KTP memang tertulis begitu: ketik tinjau untuk tetap memakai nilai ini; formulir "
        "lalu disimpan sebagai draf untuk ditinjau, dengan catatan Anda.",
        "If the KTP really says so: type review to keep this value; the form is then kept as a "
        "draft for review, with your note."}},
      {"form.review_only_mismatch",
       {"tinjau hanya berlaku setelah NIK tidak cocok dengan nilai yang diketik",
        "review only applies after the NIK disagrees with the value typed"}},
      {"form.left_for_later",
       {"{label} dilewati dulu; ditanya lagi di akhir formulir.",
        "{label} is left for now; asked again at the end of the form."}},
      {"form.list_kept",
       {"Enter pada kolom pertama = tetap {n} orang yang sudah diisi.",
        "Enter at the first field = keep the {n} already given."}},
      {"form.entry_dropped",
       {"{label} #{n} tidak disimpan ({field} salah 3 kali); isian sebelumnya tetap. Isi lagi "
        "atau kosongkan untuk selesai.",
        "{label} #{n} not kept ({field} wrong 3 times); the earlier entries stay. Enter it "
        "again or leave it empty to finish."}},
      {"form.note_question",
       {"Catatan untuk peninjau (mis. apa yang tertulis di KTP)",
        "Note for the reviewer (e.g. what the KTP says)"}},
      {"form.note_is", {"Catatan: {note}", "Note: {note}"}},
      {"form.no_back",
       {"ini kolom pertama; tidak ada kolom sebelumnya",
        "this is the first field; nothing before it"}},
      {"form.back_to_later",
       {"Kembali ke kolom yang dilewati:", "Back to the fields left for later:"}},
      {"form.stopped_empty",
       {"dihentikan (Ctrl-C) sebelum ada yang diisi; tidak ada yang disimpan",
        "stopped (Ctrl-C) before anything was typed; nothing saved"}},
      {"form.interrupted_draft",
       {"Dihentikan (Ctrl-C). Formulir disimpan sebagai draf {id} ({name}); belum menjadi "
        "rekaman dan belum terkirim. Lanjutkan dengan: lumbung drafts resume {id}",
        "Stopped (Ctrl-C). The form is kept as draft {id} ({name}); it is not a record yet and "
        "is not sent. Continue with: lumbung drafts resume {id}"}},
      {"form.eof_draft",
       {"Input berakhir sebelum formulir selesai. Formulir disimpan sebagai draf {id} ({name}); "
        "lanjutkan dengan: lumbung drafts resume {id}",
        "Input ended before the form was complete. The form is kept as draft {id} ({name}); "
        "continue with: lumbung drafts resume {id}"}},
      {"form.draft_kept",
       {"Disimpan sebagai draf {id} ({name}); belum menjadi rekaman dan belum terkirim. "
        "Lanjutkan dengan: lumbung drafts resume {id}",
        "Kept as draft {id} ({name}); not a record yet and not sent. Continue with: lumbung "
        "drafts resume {id}"}},
      {"form.draft_unchanged",
       {"Draf {id} tetap seperti sebelumnya.", "Draft {id} stays as it was."}},
      {"form.kept_for_review",
       {"Disimpan sebagai draf {id} ({name}) untuk ditinjau: belum menjadi rekaman dan belum "
        "terkirim.",
        "Kept as draft {id} ({name}) for review: not a record yet and not sent."}},
      {"form.kept_incomplete",
       {"Belum lengkap, disimpan sebagai draf {id} ({name}); belum menjadi rekaman:",
        "Not complete, kept as draft {id} ({name}); not a record yet:"}},
      {"form.resume_hint",
       {"Lengkapi nanti dengan: lumbung drafts resume {id}   (daftar draf: lumbung drafts)",
        "Complete it later with: lumbung drafts resume {id}   (all drafts: lumbung drafts)"}},
      {"form.keep_question", {"Simpan sebagai draf?", "Keep it as a draft?"}},
      {"form.already_saved",
       {"Rekaman dari draf ini sudah tersimpan sebelumnya ({id}); tidak disimpan dua kali.",
        "This draft's record was saved before ({id}); it is not saved twice."}},
      {"form.draft_done",
       {"Draf {id} selesai dan dihapus dari daftar draf.",
        "Draft {id} is complete and removed from the drafts."}},
      {"status.drafts",
       {"Draf belum selesai: {n} (belum menjadi rekaman{office}) - lumbung drafts",
        "Drafts not finished: {n} (not records yet{office}) - lumbung drafts"}},
      {"status.drafts_at_office",
       {"; {n} di kantor pusat untuk ditinjau", "; {n} at the central office for review"}},
      {"status.drafts_dismissed",
       {"; {n} ditolak kantor pusat", "; {n} dismissed by the central office"}},
      // --- lumbung drafts ---
      {"drafts.damaged",
       {"daftar draf di laptop ini rusak", "the list of drafts on this laptop is damaged"}},
      {"drafts.full",
       {"sudah ada {n} draf di laptop ini; selesaikan atau hapus beberapa (lumbung drafts) "
        "sebelum menyimpan yang baru",
        "this laptop already keeps {n} drafts; complete or delete some (lumbung drafts) before "
        "keeping another"}},
      {"drafts.need_id",
       {"sebutkan draf-nya, mis. lumbung drafts resume D1 (daftar: lumbung drafts)",
        "name the draft, e.g. lumbung drafts resume D1 (list: lumbung drafts)"}},
      {"drafts.not_found",
       {"tidak ada draf {ref} di laptop ini (daftar: lumbung drafts)",
        "no draft {ref} on this laptop (list: lumbung drafts)"}},
      {"drafts.unknown_sub",
       {"perintah drafts tidak dikenal: {sub} (yang ada: list, show, resume, delete)",
        "unknown drafts command: {sub} (there are: list, show, resume, delete)"}},
      {"drafts.header", {"Draf {id} (diubah {when}):", "Draft {id} (changed {when}):"}},
      {"drafts.missing", {"Belum diisi: {fields}", "Not filled in yet: {fields}"}},
      {"drafts.for_review",
       {"Disimpan untuk ditinjau (NIK tidak cocok dengan KTP).",
        "Kept for review (the NIK disagrees with the KTP)."}},
      {"drafts.none", {"Tidak ada draf.", "No drafts."}},
      {"drafts.count", {"{n} draf.", "{n} drafts."}},
      {"drafts.state_missing", {"belum diisi: {fields}", "missing: {fields}"}},
      {"drafts.state_ready", {"lengkap, belum disimpan", "complete, not saved yet"}},
      {"drafts.col_id", {"DRAF", "DRAFT"}},
      {"drafts.col_person", {"NAMA", "PERSON"}},
      {"drafts.col_state", {"KEADAAN", "STATE"}},
      {"drafts.col_note", {"CATATAN", "NOTE"}},
      {"drafts.col_updated", {"DIUBAH", "CHANGED"}},
      {"drafts.delete_question",
       {"Hapus draf {id} ({name})? Isinya hilang.",
        "Delete draft {id} ({name})? Its content is lost."}},
      {"drafts.kept", {"Draf {id} tidak dihapus.", "Draft {id} not deleted."}},
      {"drafts.deleted", {"Draf {id} ({name}) dihapus.", "Draft {id} ({name}) deleted."}},
      // Drafts for review at the central office (lumbung/draft_review.h).
      {"drafts.office_sent",
       {"Draf {id} ({name}) dikirim ke kantor pusat untuk ditinjau.",
        "Draft {id} ({name}) sent to the central office for review."}},
      {"drafts.office_applied",
       {"Draf {id} ({name}) diterima kantor pusat: kini rekaman {record}{outside}.",
        "Draft {id} ({name}) accepted by the central office: now record {record}{outside}."}},
      {"drafts.office_outside",
       {" (di luar wilayah laptop ini)", " (outside this laptop's regions)"}},
      {"drafts.office_dismissed",
       {"Draf {id} ({name}) ditolak kantor pusat: {note}. Perbaiki dengan lumbung drafts "
        "resume {id}, atau hapus dengan lumbung drafts delete {id}.",
        "Draft {id} ({name}) dismissed by the central office: {note}. Fix it with lumbung "
        "drafts resume {id}, or delete it with lumbung drafts delete {id}."}},
      {"drafts.office_not_taken",
       {"Draf {id} ({name}) tidak diterima server: {detail}",
        "Draft {id} ({name}) was not taken by the server: {detail}"}},
      {"drafts.office_failed",
       {"Draf untuk ditinjau belum terkirim ({detail}); dicoba lagi pada sinkronisasi "
        "berikutnya.",
        "Drafts for review not sent yet ({detail}); tried again at the next sync."}},
      {"drafts.no_note", {"tanpa catatan", "no note"}},
      {"drafts.state_to_send",
       {"untuk ditinjau, dikirim saat sinkronisasi", "for review, sent at the next sync"}},
      {"drafts.state_at_office",
       {"di kantor pusat, menunggu tinjauan", "at the central office, awaiting review"}},
      {"drafts.state_dismissed",
       {"ditolak kantor pusat: {note}", "dismissed by the central office: {note}"}},
      {"drafts.state_not_taken",
       {"tidak diterima server: {note}", "not taken by the server: {note}"}},
  };
  c.insert(entries.begin(), entries.end());
}

}  // namespace lumbung::cli::i18n_detail
