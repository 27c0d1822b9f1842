// Transport over HTTP(S) with cpprestsdk's http_client. This is the only engine file that
// includes cpprestsdk (its headers cost ~15 s and 0.7 GB of compiler memory each).
//
// Certificate checks: cpprestsdk verifies the chain and (RFC 2818) the host name through
// the per-connection verify callback it installs on the SSL stream. To add the pin and to
// learn *why* a handshake failed, the SSL context callback installs OpenSSL's
// cert_verify_callback, which runs the whole verification (X509_verify_cert, which still
// calls cpprestsdk's host-name callback) and then compares the leaf's public key with the
// pin. The reason of a refusal is kept in TlsState and becomes the Error's message.
//
// One connection per sync (issue 14): cpprestsdk keeps idle connections in a pool and each
// request takes one from it, or opens a new one if the pool is empty. A request hands its
// connection back only when its request context is destroyed (asio_context's destructor,
// Release/src/http/client/http_client_asio.cpp), and that happens on a cpprestsdk thread
// *after* the answer's body has been given to us: the next request, sent at once, could
// find the pool empty and open a second TCP (+TLS) connection - measured 3.4 ms late, in
// about one clean push in six. So each request waits (briefly, bounded) until the previous
// exchange's context is gone; see ExchangeGate.

#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cpprest/http_client.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "lumbung/error.h"
#include "lumbung/sync.h"
#include "lumbung/tls_pin.h"

namespace lumbung {

namespace {

namespace http = web::http;

// Shared by the transport and the verify callback (which runs on a cpprestsdk thread).
struct TlsState {
  std::string pin;  // lowercase hex, or empty
  std::mutex mu;
  std::string failure;  // why the last verification refused, "" if it did not

  void fail(std::string why) {
    std::lock_guard<std::mutex> lock(mu);
    failure = std::move(why);
  }
  std::string take_failure() {
    std::lock_guard<std::mutex> lock(mu);
    std::string out;
    out.swap(failure);
    return out;
  }
};

// OpenSSL's SSL_CTX_set_cert_verify_callback: replaces X509_verify_cert for the handshake.
int verify_server_certificate(X509_STORE_CTX* store_ctx, void* arg) {
  auto* st = static_cast<TlsState*>(arg);
  if (X509_verify_cert(store_ctx) != 1) {
    const int err = X509_STORE_CTX_get_error(store_ctx);
    // X509_V_OK here means the chain was fine but the host-name check refused it.
    st->fail(std::string("certificate not trusted: ") + (err == X509_V_OK
                                                             ? "it does not name this host"
                                                             : X509_verify_cert_error_string(err)));
    if (err == X509_V_OK) X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_HOSTNAME_MISMATCH);
    return 0;
  }
  if (!st->pin.empty()) {
    const std::string got = public_key_pin_sha256(X509_STORE_CTX_get0_cert(store_ctx));
    if (got != st->pin) {
      st->fail("pin mismatch: the server's key is sha256 " + got + ", expected " + st->pin);
      X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
  }
  return 1;
}

// Opens when cpprestsdk has finished with one exchange and its connection is back in the
// pool. The context keeps its copy of the http_request (and so the request's progress
// handler) until the end of its destructor, which first gives the connection back
// (asio_connection_pool::release); a handler that owns a ClosesGate therefore lets it go
// right after the release. If a cpprestsdk version dropped the request earlier, the gate
// would only open early (as before: a second connection now and then), never hang: the
// wait is bounded.
class ExchangeGate {
 public:
  void open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // True once open; false after `ms` or once `stop` holds (checked every 50 ms).
  bool wait(int ms, const std::function<bool()>& stop) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    std::unique_lock<std::mutex> lock(mu_);
    while (!open_) {
      if (stop && stop()) return false;
      const auto slice =
          std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
      if (cv_.wait_until(lock, slice, [this] { return open_; })) break;
      if (std::chrono::steady_clock::now() >= until) return false;
    }
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Owned (through a shared_ptr) by a request's progress handler only: destroyed with it.
class ClosesGate {
 public:
  explicit ClosesGate(std::shared_ptr<ExchangeGate> gate) : gate_(std::move(gate)) {}
  ClosesGate(const ClosesGate&) = delete;
  ClosesGate& operator=(const ClosesGate&) = delete;
  ~ClosesGate() { gate_->open(); }

 private:
  std::shared_ptr<ExchangeGate> gate_;
};

// How long a request waits for the previous one's connection to come back: normally well
// under a millisecond; a new connection costs a round trip or more (seconds on 2G, TLS).
constexpr int kPreviousExchangeWaitMs = 1000;

std::string lower_hex_pin(const std::string& pin) {
  std::string out;
  for (char c : pin) {
    if (c == ':') continue;  // accept "ab:cd:..." as openssl prints fingerprints
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  const bool hex = out.size() == 64 && std::all_of(out.begin(), out.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  if (!hex) throw Error(ErrorCode::kInvalidArgument, "pin_sha256 must be 64 hex digits");
  return out;
}

class HttpTransport final : public Transport {
 public:
  HttpTransport(const std::string& base_url, const HttpTransportOptions& options)
      : tls_(make_state(base_url, options)), client_(make_client(base_url, options, tls_)) {}

  HttpResponse send(const HttpRequest& request) override {
    // The previous answer is whole, but its connection may not be back in the pool yet.
    if (previous_) {
      previous_->wait(kPreviousExchangeWaitMs, request.stop);
      previous_.reset();
    }
    auto done = std::make_shared<ExchangeGate>();
    http::http_request req(request.method == "POST" ? http::methods::POST : http::methods::GET);
    req.set_request_uri(utility::conversions::to_string_t(request.target));
    if (!request.body.empty() || request.method == "POST") {
      req.set_body(std::vector<unsigned char>(request.body.begin(), request.body.end()));
    }
    for (const auto& [k, v] : request.headers) req.headers()[k] = v;  // replaces set_body's type
    // Always set: the handler also carries the gate that opens when cpprestsdk drops it.
    req.set_progress_handler([cb = request.on_bytes, gate = std::make_shared<ClosesGate>(done)](
                                 http::message_direction::direction d, utility::size64_t n) {
      if (cb) cb(d == http::message_direction::upload, n);
    });
    tls_->take_failure();
    pplx::cancellation_token_source cancel;
    try {
      http::http_response resp = finish(client_.request(req, cancel.get_token()), request, cancel);
      HttpResponse out;
      out.status = resp.status_code();
      size_t body_bytes = 0;
      if (streams(request, resp)) {
        body_bytes = read_streamed(resp, request, cancel);
        out.streamed = true;
      } else {
        const std::vector<unsigned char> body = finish(resp.extract_vector(), request, cancel);
        out.body.assign(body.begin(), body.end());
        body_bytes = out.body.size();
      }
      size_t header_bytes = 17;  // "HTTP/1.1 200 OK\r\n"
      for (const auto& [k, v] : resp.headers()) {
        std::string key = k;
        std::transform(key.begin(), key.end(), key.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        header_bytes += k.size() + v.size() + 4;
        out.headers[key] = v;
      }
      out.wire_bytes = header_bytes + 2 + body_bytes;
      // Answered: its connection goes back to the pool (a failed one is closed instead, so
      // the next request has nothing to wait for).
      previous_ = std::move(done);
      return out;
    } catch (const std::exception& e) {
      if (request.stop && request.stop()) throw Error(ErrorCode::kCancelled, "request stopped");
      const std::string why = tls_->take_failure();
      if (!why.empty()) throw Error(ErrorCode::kTransport, "TLS: " + why);
      throw Error(ErrorCode::kTransport, e.what());
    }
  }

 private:
  static bool streams(const HttpRequest& request, const http::http_response& resp) {
    if (!request.on_body || request.stream_type.empty()) return false;
    if (resp.status_code() < 200 || resp.status_code() >= 300) return false;
    return resp.headers().content_type().rfind(request.stream_type, 0) == 0;
  }

  // The body as it arrives (HttpRequest::on_body): what is buffered, or at least one byte,
  // at a time, so every whole frame is handed over before a cut that follows it. Returns
  // the bytes read.
  static size_t read_streamed(http::http_response& resp, const HttpRequest& request,
                              pplx::cancellation_token_source& cancel) {
    auto buf = resp.body().streambuf();
    std::vector<uint8_t> piece(16 * 1024);
    size_t total = 0;
    for (;;) {
      const size_t want = std::clamp<size_t>(buf.in_avail(), 1, piece.size());
      const size_t n = finish(buf.getn(piece.data(), want), request, cancel);
      if (n == 0) break;
      total += n;
      if (!request.on_body(std::string_view(reinterpret_cast<const char*>(piece.data()), n))) {
        return total;  // nothing more wanted; the connection is dropped with the response
      }
    }
    request.on_body({});
    return total;
  }

  // Waits for `t`; with a stop predicate, polls it and cancels the request once it holds
  // (a cancelled sync answers within ~50 ms instead of when the link gives up).
  template <class T>
  static T finish(pplx::task<T> t, const HttpRequest& request,
                  pplx::cancellation_token_source& cancel) {
    if (request.stop) {
      auto done = std::make_shared<std::promise<void>>();
      std::future<void> ready = done->get_future();
      // Task-based, so it runs whatever `t` ends with; t.get() below observes the outcome.
      t.then([done](pplx::task<T>) { done->set_value(); });
      bool cancelled = false;
      while (ready.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
        if (!cancelled && request.stop()) {
          cancel.cancel();
          cancelled = true;
        }
      }
    }
    return t.get();
  }

  static std::shared_ptr<TlsState> make_state(const std::string& base_url,
                                              const HttpTransportOptions& options) {
    auto st = std::make_shared<TlsState>();
    const bool https = base_url.compare(0, 8, "https://") == 0;
    if (!options.pin_sha256.empty()) {
      if (!https) {
        throw Error(ErrorCode::kInvalidArgument,
                    "a certificate pin needs an https:// server address");
      }
      st->pin = lower_hex_pin(options.pin_sha256);
    }
    if (!options.ca_file.empty() && !std::ifstream(options.ca_file)) {
      throw Error(ErrorCode::kInvalidArgument, "cannot read CA file " + options.ca_file);
    }
    return st;
  }

  static http::client::http_client make_client(const std::string& base_url,
                                               const HttpTransportOptions& options,
                                               const std::shared_ptr<TlsState>& tls) {
    http::client::http_client_config cfg;
    cfg.set_timeout(std::chrono::milliseconds(options.timeout_ms));
    // Bodies move in chunks of this size and progress is reported per chunk: 2 KiB is
    // ~0.2 s on a 2G link, so the progress bar moves at least that often (default 64 KiB).
    // cpprestsdk reads an answer a whole chunk at a time (transfer_exactly), and a cut
    // loses the chunk under way: a streamed pull keeps only the frames it was given whole,
    // so a frame already received but still in an unfinished 8 KiB chunk was lost with it
    // (BENCHMARKS.md "A streamed pull": with 8 KiB chunks and smaller frames a 2G pull cut
    // every 30 KB carried 1.42x a clean one's bytes, with 2 KiB and these frames 1.22x).
    cfg.set_chunksize(2 * 1024);
    const std::string ca = options.ca_file;
    // The lambda keeps the state alive as long as the client's config.
    cfg.set_ssl_context_callback([ca, tls](boost::asio::ssl::context& ctx) {
      SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
      if (!ca.empty()) {
        boost::system::error_code ec;
        ctx.load_verify_file(ca, ec);
        if (ec) tls->fail("cannot load CA file " + ca + ": " + ec.message());
      }
      SSL_CTX_set_cert_verify_callback(ctx.native_handle(), &verify_server_certificate, tls.get());
    });
    try {
      return http::client::http_client(utility::conversions::to_string_t(base_url), cfg);
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kInvalidArgument,
                  "bad server address \"" + base_url + "\": " + e.what());
    }
  }

  std::shared_ptr<TlsState> tls_;
  http::client::http_client client_;
  // The last answered exchange's gate, waited for by the next send() (one at a time).
  std::shared_ptr<ExchangeGate> previous_;
};

}  // namespace

std::unique_ptr<Transport> make_http_transport(const std::string& base_url,
                                               const HttpTransportOptions& options) {
  return std::make_unique<HttpTransport>(base_url, options);
}

}  // namespace lumbung
