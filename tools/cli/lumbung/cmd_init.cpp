// `lumbung init`: setting a laptop up - its state directory, the office's server and how to
// trust it (common/trust.h: a setup code CODE@URL#PIN, or --ca-file / --pin), and the
// registration with a one-time enrolment code.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "commands.h"
#include "common/api.h"
#include "common/exit_codes.h"
#include "common/i18n.h"
#include "common/output.h"
#include "common/trust.h"
#include "laptop.h"
#include "lumbung/error.h"

namespace lumbung::cli {
namespace {

namespace fs = std::filesystem;

// The office's certificate, kept inside the laptop's state directory: the file the officer
// was given may be on a USB stick that leaves with the office's technician.
constexpr const char* kOfficeCertificate = "office-ca.pem";

std::string keep_certificate(Laptop& lap, const std::string& pem) {
  const std::string path = (fs::path(lap.home()) / kOfficeCertificate).string();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << pem;
    if (!out) throw Error(ErrorCode::kStorage, tr("laptop.cannot_write", {{"path", tmp}}));
  }
  fs::rename(tmp, path);
  ::chmod(path.c_str(), 0644);
  lap.config()["ca_file"] = path;
  lap.save_config();
  return path;
}

bool is_https(const std::string& url) { return url.compare(0, 8, "https://") == 0; }

}  // namespace

void explain_register_error(Context& ctx, const Error& e, const std::string& server) {
  if (const TlsRefusal why = tls_refusal(e); why != TlsRefusal::kNone) {
    *ctx.err << tls_refusal_text(why, server, printable(e.what())) << "\n";
  } else if (e.code() == ErrorCode::kTransport) {
    *ctx.err << tr("init.offline") << "\n";
  } else if (e.code() == ErrorCode::kUnauthorized) {
    *ctx.err << tr("init.code_unknown", {{"detail", printable(e.what())}}) << "\n";
  } else if (e.code() == ErrorCode::kForbidden) {
    *ctx.err << tr("init.code_used", {{"detail", printable(e.what())}}) << "\n";
  } else if (e.code() == ErrorCode::kAlreadyExists) {
    *ctx.err << tr("init.device_taken", {{"detail", printable(e.what())}}) << "\n";
  } else {
    *ctx.err << printable(e.what()) << "\n";
  }
}

bool ensure_office_certificate(Laptop& lap, const std::string& url, std::ostream& out,
                               int timeout_ms) {
  const std::string pin = lap.config().value("pin_sha256", std::string());
  if (pin.empty() || !is_https(url) || !transport_options(0, &lap.config()).ca_file.empty()) {
    return false;
  }
  const ServerCertificate cert = fetch_server_certificate(url, timeout_ms);
  if (cert.pin != pin) {
    // The transport's own wording (lumbung/sync.h), so every screen reads it the same way.
    throw Error(ErrorCode::kTransport,
                "TLS: pin mismatch: the server's key is sha256 " + cert.pin + ", expected " + pin);
  }
  // A certificate from a public CA is checked against the system's store (and the pin);
  // only the office's own certificate becomes the laptop's CA file.
  if (!cert.self_signed) return false;
  const std::string path = keep_certificate(lap, cert.pem);
  out << tr("trust.cert_kept", {{"server", url}, {"path", path}}) << "\n";
  return true;
}

int office_trust_or_explain(Context& ctx, Laptop& lap, const std::string& url) {
  try {
    ensure_office_certificate(lap, url, *ctx.err, 10000);
  } catch (const Error& e) {
    if (const TlsRefusal why = tls_refusal(e); why != TlsRefusal::kNone) {
      *ctx.err << tls_refusal_text(why, url, printable(e.what())) << "\n";
      return kExitAuth;
    }
    if (e.code() != ErrorCode::kTransport) throw;
    // Unreachable: the caller's own attempt will say so in its words.
  }
  return kExitOk;
}

namespace {

// A new code for a registered laptop (revoked, or re-issued by the office): the office made
// it for this device id (lumbung-admin codes create --device), and the server registers the
// laptop again keeping what it holds of it. The store, its change log and drafts stay; the
// unsent changes go at the next sync. A refusal changes nothing here or on the server.
int reenrol(Context& ctx, Laptop& lap, const std::string& server, const std::string& code) {
  const std::string device = lap.store().device_id();
  try {
    ensure_office_certificate(lap, server, *ctx.out, 10000);
    // One quick look first, as for a first registration: no minute of retries at init.
    ApiClient(server, "", transport_options(10000, &lap.config())).get("/v1/health");
    auto transport = make_http_transport(server, transport_options(60000, &lap.config()));
    lap.reenrol(*transport, code);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kTransport && tls_refusal(e) == TlsRefusal::kNone) {
      // Not kept for the first sync as a first code is: that sync would use the old token.
      *ctx.err << tr("init.reenrol_offline") << "\n";
      return kExitNetwork;
    }
    const std::string what = e.what();
    if (e.code() == ErrorCode::kForbidden && what == "enrolment code made for another device") {
      *ctx.err << tr("init.code_other_device", {{"device", device}}) << "\n";
    } else if (e.code() == ErrorCode::kAlreadyExists) {
      *ctx.err << tr("init.reenrol_needs_device_code", {{"device", device}}) << "\n";
      return kExitAuth;  // the code is refused for this laptop, like a used one
    } else {
      explain_register_error(ctx, e, server);
    }
    if (tls_refusal(e) != TlsRefusal::kNone) return kExitAuth;
    return exit_code_for(e.code());
  }
  const uint64_t pending = lap.store().stats().pending_changes;
  *ctx.out << tr("init.reenrolled", {{"device", device},
                                     {"server", server},
                                     {"pending", group_number(static_cast<int64_t>(pending))}})
           << "\n";
  return kExitOk;
}

}  // namespace

int cmd_init(Context& ctx, Args& args) {
  const std::string code_arg = args.value("code").value_or("");
  std::string server = args.value("server").value_or(ctx.server);
  const std::string label = args.value("label").value_or("");
  const std::string officer = args.value("officer").value_or("");
  const std::string schema = args.value("schema").value_or(default_schema_path());
  const auto ca_file = args.value("ca-file");
  std::string pin = args.value("pin").value_or("");
  const bool unencrypted = args.flag("unencrypted");  // tests and demos only; warns
  args.finish();

  // Everything the officer typed is checked before anything is written.
  std::string code = code_arg;
  if (const auto setup = parse_setup_code(code_arg)) {
    if (!server.empty() && server != setup->server) {
      throw Error(ErrorCode::kInvalidArgument,
                  tr("trust.setup_server_differs", {{"flag", server}, {"setup", setup->server}}));
    }
    server = setup->server;
    code = setup->code;
    if (pin.empty()) pin = setup->pin;
  }
  if (server.empty() && Laptop::exists(ctx.home)) server = Laptop(ctx.home).server_url();
  if (server.empty()) throw Error(ErrorCode::kInvalidArgument, tr("init.need_server"));
  if (!pin.empty()) {
    pin = normalise_pin(pin);
    if (!is_https(server)) throw Error(ErrorCode::kInvalidArgument, tr("trust.pin_needs_https"));
  }
  const std::string ca_pem = ca_file ? read_certificate_file(*ca_file) : std::string();
  if (!officer.empty() && officer.size() > 32) {
    throw Error(ErrorCode::kInvalidArgument, tr("init.officer_too_long"));
  }

  if (!Laptop::exists(ctx.home)) {
    Json config{{"server", server}};
    if (!label.empty()) config["label"] = label;
    if (!officer.empty()) config["officer"] = officer;
    const std::string device = Laptop::create(ctx.home, schema, config, unencrypted, *ctx.err);
    *ctx.out << tr("init.created", {{"home", ctx.home}, {"device", device}}) << "\n";
  }
  Laptop lap(ctx.home);
  // Re-running init on an existing laptop updates its server, label, officer, trust and code.
  lap.config()["server"] = server;
  if (!label.empty()) lap.config()["label"] = label;
  if (!officer.empty()) lap.config()["officer"] = officer;
  // The office's certificate and pin given at set-up are kept for every later sync
  // (LUMBUNG_CA_FILE / LUMBUNG_PIN from the environment too, as tools/run.sh gives them).
  const HttpTransportOptions env = transport_options();
  if (!env.ca_file.empty()) lap.config()["ca_file"] = env.ca_file;
  if (!env.pin_sha256.empty()) lap.config()["pin_sha256"] = normalise_pin(env.pin_sha256);
  if (!pin.empty()) {
    // A new pin means a new key: a certificate kept for the old one no longer applies.
    if (lap.config().value("pin_sha256", std::string()) != pin && !ca_file && env.ca_file.empty()) {
      lap.config().erase("ca_file");
    }
    lap.config()["pin_sha256"] = pin;
  }
  lap.save_config();
  if (!ca_pem.empty()) {
    *ctx.out << tr("trust.ca_kept", {{"path", keep_certificate(lap, ca_pem)}}) << "\n";
  }
  if (lap.registered()) {
    if (!code.empty()) return reenrol(ctx, lap, server, code);
    *ctx.out << tr("init.already_registered", {{"device", lap.store().device_id()}}) << "\n";
    return kExitOk;
  }
  // A code kept from an earlier try (offline, or a certificate refused) is used again.
  if (code.empty()) code = lap.store().get_secret("enrol_code");
  if (code.empty()) {
    *ctx.out << tr("init.no_code_yet") << "\n";
    return kExitOk;
  }
  lap.store().set_secret("enrol_code", code);
  try {
    try {
      ensure_office_certificate(lap, server, *ctx.out, 10000);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kTransport || tls_refusal(e) != TlsRefusal::kNone) throw;
      *ctx.err << tr("trust.pin_kept_offline") << "\n";
      throw;
    }
    // One quick look first: registration retries a dead link for about a minute (the
    // SyncClient's backoff), which is right for a sync but not for an officer at `init`
    // with no signal.
    ApiClient(server, "", transport_options(10000, &lap.config())).get("/v1/health");
    auto transport = make_http_transport(server, transport_options(60000, &lap.config()));
    lap.register_if_needed(*transport);
  } catch (const Error& e) {
    explain_register_error(ctx, e, server);
    // A refused certificate is not the code's fault: it stays for when trust is fixed.
    if (tls_refusal(e) != TlsRefusal::kNone) return kExitAuth;
    if (e.code() == ErrorCode::kTransport) return kExitOk;  // registers at the first sync
    lap.store().set_secret("enrol_code", "");
    return exit_code_for(e.code());
  }
  *ctx.out << tr("init.registered", {{"device", lap.store().device_id()}, {"server", server}})
           << "\n";
  return kExitOk;
}

}  // namespace lumbung::cli
