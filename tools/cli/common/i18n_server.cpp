// The few English sentences of the engine and lumbung-server a person still met through the
// tools (issue 15 item 5: "status can only move forward", "wrong passphrase", "device
// revoked", "no such device"), said in the catalogue's language. They are recognised by
// their stable error code and the start of the server's detail, which PROTOCOL.md and the
// engine keep; anything else is printed as it came (made printable).
#include <cctype>
#include <optional>

#include "common/i18n.h"
#include "common/i18n_catalogue.h"
#include "common/output.h"

namespace lumbung::cli {
namespace i18n_detail {

void add_server_entries(Catalogue& c) {
  c.insert({
      {"error.device_revoked",
       {"kantor pusat telah mencabut perangkat ini: server menolak semua permintaannya. "
        "Hubungi kantor pusat.",
        "the central office has revoked this device: the server refuses all its requests. "
        "Contact the central office."}},
      {"error.token_revoked",
       {"token ini sudah dicabut kantor pusat; minta token baru ke admin.",
        "this token was revoked by the central office; ask an admin for a new one."}},
      {"error.no_such_device",
       {"server tidak mengenal perangkat itu (lihat lumbung-admin devices list)",
        "the server does not know that device (see lumbung-admin devices list)"}},
      // lumbung init --code on a laptop already registered: re-enrolment (cmd_init.cpp).
      {"init.reenrolled",
       {"Laptop {device} terdaftar ulang di {server}. Data di laptop ini tetap utuh; {pending} "
        "perubahan yang belum terkirim akan dikirim pada sinkron berikutnya (lumbung sync).",
        "Laptop {device} is registered again with {server}. The data on this laptop is kept; "
        "{pending} changes not sent yet will be sent at the next sync (lumbung sync)."}},
      {"init.reenrol_offline",
       {"Server tidak terjangkau sekarang; laptop belum terdaftar ulang dan kode belum "
        "terpakai. Jalankan perintah yang sama lagi saat ada sinyal. Data di laptop ini tetap "
        "aman.",
        "The server cannot be reached now; the laptop is not registered again and the code is "
        "not used. Run the same command again when there is signal. The data on this laptop "
        "stays safe."}},
      {"init.code_other_device",
       {"Kode ini dibuat kantor pusat untuk perangkat lain, bukan untuk {device}. Tidak ada "
        "yang berubah. Minta kode untuk {device} (lumbung-admin codes create --device "
        "{device}).",
        "This code was made by the central office for another device, not for {device}. "
        "Nothing changed. Ask for a code for {device} (lumbung-admin codes create --device "
        "{device})."}},
      {"init.reenrol_needs_device_code",
       {"Laptop {device} sudah terdaftar; mendaftar ulang perlu kode yang dibuat kantor pusat "
        "khusus untuk perangkat ini (lumbung-admin codes create --device {device}). Kode ini "
        "tidak dipakai dan masih berlaku; tidak ada yang berubah.",
        "Laptop {device} is already registered; enrolling it again needs a code the central "
        "office made for this device (lumbung-admin codes create --device {device}). This "
        "code was not used and stays valid; nothing changed."}},
      {"error.cannot_move_back",
       {"{field} tidak bisa mundur dari {from} ke {to}: status hanya bergerak maju. Biarkan "
        "status yang sekarang.",
        "{field} cannot move back from {from} to {to}: a status only moves forward. Keep the "
        "current state."}},
  });
}

}  // namespace i18n_detail

namespace {

// "\"verified\"" (a JSON dump) or "verified" -> "verified", and by its name when the field
// has named values ("Terverifikasi (verified)").
std::string state_text(const std::string& field, std::string v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  const std::string key = "enum." + field + "." + v;
  const std::string name = tr(key);
  return name == key ? "\"" + v + "\"" : name + " (" + v + ")";
}

// "<field> can only move forward: <old> cannot become <new>[; ...]" (engine store, server
// review and web status), taken apart: field, old and new.
struct Regression {
  std::string field, from, to;
};
std::optional<Regression> parse_regression(const std::string& what) {
  static const std::string kMid = " can only move forward: ", kBecome = " cannot become ";
  const size_t mid = what.find(kMid);
  if (mid == 0 || mid == std::string::npos) return std::nullopt;
  Regression r{what.substr(0, mid), "", ""};
  for (const unsigned char c : r.field) {
    if (!std::isalnum(c) && c != '_') return std::nullopt;
  }
  const size_t from = mid + kMid.size();
  const size_t from_end = what.find_first_of(" \t\r\n", from);
  if (from_end == from || from_end == std::string::npos ||
      what.compare(from_end, kBecome.size(), kBecome) != 0) {
    return std::nullopt;
  }
  r.from = what.substr(from, from_end - from);
  const size_t to = from_end + kBecome.size();
  r.to = what.substr(to, what.find_first_of("; \t\r\n", to) - to);
  if (r.to.empty()) return std::nullopt;
  return r;
}

}  // namespace

std::string error_text(const Error& e) {
  const std::string what = e.what();
  switch (e.code()) {
    case ErrorCode::kWrongPassphrase:
      return tr("error.wrong_passphrase");
    case ErrorCode::kUnauthorized:
      if (what == "device revoked") return tr("error.device_revoked");
      if (what == "token revoked") return tr("error.token_revoked");
      break;
    case ErrorCode::kNotFound:
      if (what == "no such device") return tr("error.no_such_device");
      break;
    case ErrorCode::kStatusRegression: {
      if (const auto r = parse_regression(what)) {
        return tr("error.cannot_move_back", {{"field", r->field},
                                             {"from", printable(state_text(r->field, r->from))},
                                             {"to", printable(state_text(r->field, r->to))}});
      }
      break;
    }
    default:
      break;
  }
  return printable(what);
}

}  // namespace lumbung::cli
