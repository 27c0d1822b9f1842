#include "common/trust.h"

#include <netdb.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/i18n.h"

#include "lumbung/tls_pin.h"

namespace lumbung::cli {
namespace {

bool is_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

struct HostPort {
  std::string host;
  std::string port;
};

// "https://host[:port][/...]" -> host, port (443 by default); IPv6 in brackets.
HostPort https_host_port(const std::string& url) {
  const std::string scheme = "https://";
  if (url.compare(0, scheme.size(), scheme) != 0) {
    throw Error(ErrorCode::kInvalidArgument, tr("trust.bad_url", {{"url", url}}));
  }
  std::string rest = url.substr(scheme.size());
  rest = rest.substr(0, rest.find('/'));
  HostPort hp{rest, "443"};
  if (!rest.empty() && rest[0] == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) {
      throw Error(ErrorCode::kInvalidArgument, tr("trust.bad_url", {{"url", url}}));
    }
    hp.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') hp.port = rest.substr(close + 2);
  } else if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    hp.host = rest.substr(0, colon);
    hp.port = rest.substr(colon + 1);
  }
  if (hp.host.empty() || hp.port.empty()) {
    throw Error(ErrorCode::kInvalidArgument, tr("trust.bad_url", {{"url", url}}));
  }
  return hp;
}

// A connected TCP socket with send/receive timeouts (connect honours SO_SNDTIMEO on Linux).
int connect_bounded(const HostPort& hp, int timeout_ms, const std::string& url) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &found) != 0 || !found) {
    throw Error(ErrorCode::kTransport, tr("trust.cannot_connect", {{"server", url}}));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  for (addrinfo* a = found; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) return fd;
    ::close(fd);
  }
  throw Error(ErrorCode::kTransport, tr("trust.cannot_connect", {{"server", url}}));
}

std::string to_pem(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

std::string normalise_pin(const std::string& pin) {
  std::string out;
  for (char c : pin) {
    if (c == ':' || c == ' ') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (out.size() != 64 || !is_hex(out)) {
    throw Error(ErrorCode::kInvalidArgument,
                tr("trust.bad_pin", {{"pin", pin}, {"n", std::to_string(out.size())}}));
  }
  return out;
}

std::optional<SetupCode> parse_setup_code(const std::string& text) {
  const auto at = text.find('@');
  if (at == std::string::npos) return std::nullopt;
  SetupCode s;
  s.code = text.substr(0, at);
  std::string rest = text.substr(at + 1);
  if (const auto hash = rest.find('#'); hash != std::string::npos) {
    s.pin = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  s.server = rest;
  if (s.code.empty()) throw Error(ErrorCode::kInvalidArgument, tr("trust.setup_no_code"));
  const bool https = s.server.compare(0, 8, "https://") == 0;
  if (!https && s.server.compare(0, 7, "http://") != 0) {
    throw Error(ErrorCode::kInvalidArgument, tr("trust.setup_bad_server", {{"server", s.server}}));
  }
  if (!s.pin.empty()) {
    if (!https) throw Error(ErrorCode::kInvalidArgument, tr("trust.pin_needs_https"));
    s.pin = normalise_pin(s.pin);
  }
  return s;
}

std::string format_setup_code(const SetupCode& s) {
  return s.code + "@" + s.server + (s.pin.empty() ? "" : "#" + s.pin);
}

ServerCertificate fetch_server_certificate(const std::string& https_url, int timeout_ms) {
  const HostPort hp = https_host_port(https_url);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  if (!ctx) throw Error(ErrorCode::kInternal, "SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // Nothing is verified here on purpose: the caller compares the key with the pin it was
  // given out of band, which is a stronger check than any chain.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  const int fd = connect_bounded(hp, timeout_ms, https_url);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  if (!ssl) {
    ::close(fd);
    throw Error(ErrorCode::kInternal, "SSL_new failed");
  }
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), hp.host.c_str());
  ServerCertificate out{};
  const bool ok = SSL_connect(ssl.get()) == 1;
  if (ok) {
    if (X509* leaf = SSL_get1_peer_certificate(ssl.get())) {
      out.pem = to_pem(leaf);
      out.pin = public_key_pin_sha256(leaf);
      EVP_PKEY* key = X509_get0_pubkey(leaf);
      out.self_signed =
          X509_check_issued(leaf, leaf) == X509_V_OK && key && X509_verify(leaf, key) == 1;
      X509_free(leaf);
    }
    SSL_shutdown(ssl.get());
  }
  ssl.reset();
  ::close(fd);
  if (!ok || out.pin.empty()) {
    throw Error(ErrorCode::kTransport, tr("trust.no_tls", {{"server", https_url}}));
  }
  return out;
}

std::string read_certificate_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const std::string pem = text.str();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  X509* cert = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!in || !cert) {
    throw Error(ErrorCode::kInvalidArgument, tr("trust.bad_ca_file", {{"path", path}}));
  }
  X509_free(cert);
  return pem;
}

TlsRefusal tls_refusal(const Error& e) {
  if (e.code() != ErrorCode::kTransport) return TlsRefusal::kNone;
  const std::string what = e.what();
  if (what.rfind("TLS: pin mismatch", 0) == 0) return TlsRefusal::kPinMismatch;
  if (what.rfind("TLS:", 0) == 0) return TlsRefusal::kUntrusted;
  return TlsRefusal::kNone;
}

std::string tls_refusal_text(TlsRefusal why, const std::string& server, const std::string& detail) {
  return tr(why == TlsRefusal::kPinMismatch ? "trust.refused_pin" : "trust.refused_untrusted",
            {{"server", server}, {"detail", detail}});
}

}  // namespace lumbung::cli
