// The few English sentences of the engine and lumbung-server a person still met through the
// tools (issue 15 item 5: "status can only move forward", "wrong passphrase", "device
// revoked", "no such device"), said in the catalogue's language. They are recognised by
// their stable error code and the start of the server's detail, which PROTOCOL.md and the
// engine keep; anything else is printed as it came (made printable).
#include <regex>

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
      // lumbung init --code on a laptop already registered (cmd_init.cpp).
      {"init.reenrol_not_built",
       {"Laptop {device} sudah terdaftar di server. Mendaftar ulang dengan kode baru belum "
        "bisa: server hanya sekali mendaftarkan satu id perangkat. Kode ini tidak dipakai dan "
        "masih berlaku. {pending} perubahan yang belum terkirim tetap aman di laptop ini; "
        "jangan hapus folder laptop ini, hubungi kantor pusat.",
        "Laptop {device} is already registered with the server. Enrolling it again with a "
        "new code is not possible yet: the server registers a device id only once. This code "
        "was not used and stays valid. {pending} changes not sent yet stay safe on this "
        "laptop; do not delete its folder, contact the central office."}},
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
      // "<field> can only move forward: <old> cannot become <new>[; ...]" (engine store,
      // server review and web status).
      static const std::regex re(
          R"(^([A-Za-z0-9_]+) can only move forward: (\S+) cannot become ([^;\s]+))");
      std::smatch m;
      if (std::regex_search(what, m, re)) {
        const std::string field = m[1];
        return tr("error.cannot_move_back", {{"field", field},
                                             {"from", printable(state_text(field, m[2]))},
                                             {"to", printable(state_text(field, m[3]))}});
      }
      break;
    }
    default:
      break;
  }
  return printable(what);
}

}  // namespace lumbung::cli
