// Trusting the central office's HTTPS server: the setup code, the key pin and the office's
// own certificate, for `lumbung init` and `lumbung-admin codes create`.
//
// A field laptop must know which server is the office's before it sends a NIK anywhere. An
// office with its own (self-signed) certificate hands each laptop three things at once, in
// one *setup code* (as text or a QR of it):
//
//   CODE@URL#PIN      e.g.  K7Q2-MX4P-9TZD@https://10.8.0.5:8443#3f1a...e9 (64 hex digits)
//
// CODE is the one-time enrolment code, URL the server's address as laptops reach it, PIN
// the SHA-256 of the server's public key (lumbung-server prints it: "tls pin sha256"). A
// plain http URL carries no pin (CODE@http://host:port). `lumbung init --code SETUPCODE`
// needs nothing else: it fetches the certificate the server presents, keeps it as the
// laptop's CA file only if its key matches the pin (so nothing on the way can swap it), and
// from then on every sync checks both.
//
// TLS refusals: the engine's transport reports them as Error(kTransport) whose message
// starts "TLS: certificate not trusted" or "TLS: pin mismatch" (lumbung/sync.h, the
// documented contract); tls_refusal() reads that contract in this one place so that no
// screen calls a refused certificate "no signal".
#pragma once

#include <optional>
#include <string>

#include "lumbung/error.h"

namespace lumbung::cli {

struct SetupCode {
  std::string code;    // the one-time enrolment code
  std::string server;  // http(s)://host:port
  std::string pin;     // 64 lowercase hex digits; "" for http
};

// A setup code from `text`; nullopt when `text` is a plain enrolment code (no '@').
// Throws Error(kInvalidArgument) with an Indonesian/English message saying what is wrong
// (no code, not an http(s) address, a pin that is not 64 hex digits, a pin with http).
std::optional<SetupCode> parse_setup_code(const std::string& text);
std::string format_setup_code(const SetupCode& s);

// "ab:CD:..." or "abcd..." -> 64 lowercase hex digits. Throws Error(kInvalidArgument)
// naming the value and what a pin looks like.
std::string normalise_pin(const std::string& pin);

// What an https server presents, read without trusting it (the caller decides by the pin).
struct ServerCertificate {
  std::string pem;   // the leaf certificate
  std::string pin;   // SHA-256 of its public key, lowercase hex
  bool self_signed;  // issued by itself (the office's own certificate, tools/dev-cert.sh)
};
// One TLS handshake with the server of `https_url`, every step bounded by `timeout_ms`.
// Throws Error(kTransport) when it cannot be reached, Error(kInvalidArgument) for an
// address that is not https://host[:port].
ServerCertificate fetch_server_certificate(const std::string& https_url, int timeout_ms);

// Reads a PEM certificate file; throws Error(kInvalidArgument) if it holds none.
std::string read_certificate_file(const std::string& path);

enum class TlsRefusal { kNone, kUntrusted, kPinMismatch };
// Whether `e` is the transport refusing the server's certificate or key (see above).
TlsRefusal tls_refusal(const Error& e);
// The officer's sentence for a refusal of `server` (not "no signal"), with what to do.
std::string tls_refusal_text(TlsRefusal why, const std::string& server, const std::string& detail);

}  // namespace lumbung::cli
