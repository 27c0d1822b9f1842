// The sentences of import-csv about the file itself (encoding, control characters, an id
// column against a NIK already held) and of search finding nothing, Indonesian beside
// English. Part of the one catalogue of common/i18n.cpp.
#include "common/i18n_catalogue.h"

namespace lumbung::cli::i18n_detail {

void add_import_entries(Catalogue& c) {
  const Catalogue entries = {
      {"import.utf16",
       {"berkas ini UTF-16 (\"Teks Unicode\" dari Excel), bukan CSV. Simpan ulang dari Excel "
        "sebagai \"CSV UTF-8 (dipisah koma)\" lalu impor lagi. Tidak ada yang diimpor.",
        "this file is UTF-16 (Excel's \"Unicode Text\"), not CSV. Save it again from Excel as "
        "\"CSV UTF-8 (Comma delimited)\" and import that. Nothing was imported."}},
      {"import.unknown_encoding",
       {"berkas ini bukan UTF-8 dan bukan Windows-1252/Latin-1: byte {byte} di baris {row} tidak "
        "dikenal di keduanya. Simpan ulang dari Excel sebagai \"CSV UTF-8 (dipisah koma)\". "
        "Tidak ada yang diimpor.",
        "this file is neither UTF-8 nor Windows-1252/Latin-1: byte {byte} in row {row} means "
        "nothing in either. Save it again from Excel as \"CSV UTF-8 (Comma delimited)\". Nothing "
        "was imported."}},
      {"import.converted",
       {"Berkas ini bukan UTF-8: dibaca sebagai {enc} (CSV dari Excel di Windows) dan diubah ke "
        "UTF-8. Periksa ejaan nama beraksen di laporan ini; lain kali simpan sebagai \"CSV UTF-8 "
        "(dipisah koma)\".",
        "This file is not UTF-8: it was read as {enc} (a CSV from Excel on Windows) and "
        "converted to UTF-8. Check the spelling of accented names in this report; next time save "
        "as \"CSV UTF-8 (Comma delimited)\"."}},
      {"import.line_break",
       {"{field} berisi baris baru (karakter ke-{pos}): sel ini harus satu baris. Hapus Alt+Enter "
        "di sel itu",
        "{field} holds a line break (character {pos}): this cell must be one line. Remove the "
        "Alt+Enter in that cell"}},
      {"import.control_char",
       {"{field} berisi karakter kendali tak terlihat {code} (karakter ke-{pos}); ketik ulang sel "
        "itu",
        "{field} holds an invisible control character {code} (character {pos}); retype that "
        "cell"}},
      {"import.key_elsewhere",
       {"NIK {key} sudah ada di laptop ini sebagai rekaman {other}, tetapi kolom id baris ini "
        "menunjuk {id}: baris ini akan membuat orang yang sama dua kali. Kosongkan kolom id, atau "
        "pakai id {other}",
        "NIK {key} is already on this laptop as record {other}, but this row's id column names "
        "{id}: the row would make the same person twice. Empty the id cell, or use id {other}"}},
      {"search.not_found",
       {"Tidak ditemukan: tidak ada rekaman yang cocok dengan \"{what}\" di antara {n} rekaman "
        "laptop ini. Coba sebagian nama (kata mana saja, urutan bebas) atau sebagian NIK.",
        "Not found: no record matches \"{what}\" among this laptop's {n} records. Try part of "
        "the name (any words, any order) or part of the NIK."}},
  };
  c.insert(entries.begin(), entries.end());
}

}  // namespace lumbung::cli::i18n_detail
