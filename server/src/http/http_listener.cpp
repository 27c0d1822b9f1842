#include "http/http_listener.h"

#include "lumbung/tls_pin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "api/http_types.h"
#include "api/problem.h"
#include "api/router.h"
#include "http/http_wire.h"
#include "http/listener_util.h"
#include "http/tls_config.h"
#include "lumbung/push_stream.h"
#include "lumbung/tuning.h"

namespace lumbung::server {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// Named rather than anonymous: HttpListener::Impl holds these types, and a class with
// external linkage must not hold types of no linkage (gcc -Wsubobject-linkage in a unity build).
namespace listener_detail {

size_t g_threads = 4;
// What a streamed body takes from the budget: one frame and the zstd window at most.
constexpr size_t kStreamBodyReserve =
    kPushStreamMaxFrameBytes + (size_t{1} << kPushStreamWindowLog) + 64 * 1024;

// What all connections share.
struct Shared {
  Router& router;
  ListenerOptions options;
  asio::ssl::context* tls = nullptr;  // null: plain HTTP
  std::atomic<size_t> body_bytes{0};  // request body bytes held, all connections
  std::atomic<size_t> connections{0};

  Shared(Router& r, ListenerOptions o) : router(r), options(std::move(o)) {}

  bool take_body(size_t n) {
    size_t used = body_bytes.load();
    do {
      if (used + n > kMaxBufferedBodyBytes) return false;
    } while (!body_bytes.compare_exchange_weak(used, used + n));
    return true;
  }
  void give_body(size_t n) { body_bytes.fetch_sub(n); }
};

// One accepted connection. Every handler runs on the connection's strand (the socket's
// executor), so its state needs no lock; a handler that finds the connection closed returns.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, Shared& shared)
      : sock_(std::move(socket)), timer_(sock_.get_executor()), sh_(shared) {
    sh_.connections.fetch_add(1);
  }
  ~Connection() {
    release_body();
    sh_.connections.fetch_sub(1);
  }

  tcp::socket::executor_type executor() { return sock_.get_executor(); }

  void start() {
    error_code ec;
    sock_.set_option(tcp::no_delay(true), ec);
    const auto peer = sock_.remote_endpoint(ec);
    if (!ec) remote_ = peer.address().to_string();
    if (sh_.tls) {
      tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(sock_, *sh_.tls);
      arm_after(grace_ms());
      tls_->async_handshake(asio::ssl::stream_base::server,
                            [self = shared_from_this()](const error_code& e) {
                              if (self->closed_) return;
                              if (e) return self->close_now();
                              self->read_head();
                            });
      return;
    }
    read_head();
  }

 private:
  int grace_ms() const { return sh_.options.slow_client_timeout_ms; }

  // --- deadlines ---------------------------------------------------------------------------
  // One timer per connection; arming it again replaces the deadline, disarm() removes it.
  void arm(Clock::time_point deadline) {
    if (grace_ms() <= 0) return;
    const uint64_t gen = ++timer_gen_;
    timer_.expires_at(deadline);
    timer_.async_wait([self = shared_from_this(), gen](const error_code& e) {
      if (e || gen != self->timer_gen_ || self->closed_) return;
      self->close_now();
    });
  }
  void arm_after(int64_t ms) { arm(Clock::now() + std::chrono::milliseconds(ms)); }
  // The grace plus `bytes` at the minimum rate.
  int64_t transfer_ms(uint64_t bytes) const {
    const uint64_t rate = std::max<uint64_t>(1, sh_.options.slow_client_min_bytes);
    return grace_ms() + static_cast<int64_t>(std::min<uint64_t>(bytes, 1ull << 40) * 1000 / rate);
  }
  void disarm() {
    ++timer_gen_;
    timer_.cancel();
  }

  // --- I/O helpers ---------------------------------------------------------------------------
  template <class Handler>
  void read_some(Handler&& h) {
    if (tls_) {
      tls_->async_read_some(asio::buffer(rbuf_), std::forward<Handler>(h));
    } else {
      sock_.async_read_some(asio::buffer(rbuf_), std::forward<Handler>(h));
    }
  }
  template <class Buffers, class Handler>
  void write_all(const Buffers& b, Handler&& h) {
    if (tls_) {
      asio::async_write(*tls_, b, std::forward<Handler>(h));
    } else {
      asio::async_write(sock_, b, std::forward<Handler>(h));
    }
  }
  // Reads more into in_, then calls `next` (a member function).
  void read_more(void (Connection::*next)()) {
    read_some([self = shared_from_this(), next](const error_code& e, size_t n) {
      if (self->closed_) return;
      if (e) return self->close_now();  // EOF, reset, or closed by a deadline
      self->in_.append(self->rbuf_.data(), n);
      ((*self).*next)();
    });
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    disarm();
    error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }

  void release_body() {
    if (body_reserved_ > 0) sh_.give_body(body_reserved_);
    body_reserved_ = 0;
  }

  // --- head --------------------------------------------------------------------------------
  void read_head() {
    arm_after(grace_ms());  // the whole head within the grace, however it trickles
    scanned_ = 0;
    lines_ = 0;
    on_head_bytes();
  }

  void on_head_bytes() {
    size_t head_bytes = 0;
    switch (wire::scan_head(in_, scanned_, lines_, kMaxHeadBytes, kMaxHeaderCount, head_bytes)) {
      case wire::HeadScan::kIncomplete:
        return read_more(&Connection::on_head_bytes);
      case wire::HeadScan::kTooLarge:
        return refuse(headers_too_large("the request head exceeds " +
                                        std::to_string(kMaxHeadBytes) + " bytes"));
      case wire::HeadScan::kTooMany:
        return refuse(headers_too_large("the request has more than " +
                                        std::to_string(kMaxHeaderCount) + " header lines"));
      case wire::HeadScan::kComplete:
        break;
    }
    const std::string bad = wire::parse_head(std::string_view(in_).substr(0, head_bytes), head_);
    in_.erase(0, head_bytes);
    if (!bad.empty()) return refuse(problem_response(ErrorCode::kProtocol, "bad request: " + bad));

    req_ = Request{};
    req_.method = head_.method;
    req_.path = head_.path;
    req_.query = head_.query;
    req_.remote_address = remote_;
    for (auto& [name, value] : head_.headers) {
      auto [it, fresh] = req_.headers.emplace(name, value);
      if (!fresh) it->second += ", " + value;
    }
    admission_ = sh_.router.admit(req_);
    if (admission_.refusal) return refuse(std::move(*admission_.refusal));

    const bool has_body = head_.chunked || (head_.has_length && head_.content_length > 0);
    if (admission_.streamed) {
      // A body taken as it arrives (a streamed push): it holds one frame and the zstd
      // window at most, whatever its length.
      if (!sh_.take_body(kStreamBodyReserve)) return refuse(server_busy());
      body_reserved_ = kStreamBodyReserve;
      sink_ = sh_.router.open_sink(req_, admission_);
      stream_data_ = 0;
      if (!has_body) return end_stream();
    } else if (!has_body) {
      return dispatch();
    }
    if (!sink_ && head_.has_length) {
      // admit() checked it against the route's limit; hold its size from the budget.
      const auto n = static_cast<size_t>(head_.content_length);
      if (!sh_.take_body(n)) return refuse(server_busy());
      body_reserved_ = n;
      req_.body.reserve(n);  // address space only: pages are touched as bytes arrive
    }
    body_received_ = 0;
    body_start_ = Clock::now();
    arm(body_start_ + std::chrono::milliseconds(transfer_ms(0)));
    if (head_.expect_continue) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return write_all(asio::buffer(kContinue),
                       [self = shared_from_this()](const error_code& e, size_t) {
                         if (self->closed_) return;
                         if (e) return self->close_now();
                         self->on_body_bytes();
                       });
    }
    on_body_bytes();
  }

  // --- body --------------------------------------------------------------------------------
  void on_body_bytes() {
    if (sink_) return on_stream_bytes();
    const size_t limit = admission_.max_body_bytes;
    if (head_.chunked) {
      // The most this feed can append, taken from the budget first (in steps, so that a
      // small body holds little).
      const size_t could = std::min(limit, req_.body.size() + in_.size());
      if (could > body_reserved_) {
        const size_t want = std::min(limit, std::max(could, body_reserved_ * 2 + 64 * 1024));
        if (!sh_.take_body(want - body_reserved_)) return refuse(server_busy());
        body_reserved_ = want;
      }
      size_t used = 0;
      const auto st = chunked_.feed(in_, used, req_.body, limit);
      body_received_ += used;
      in_.erase(0, used);
      switch (st) {
        case wire::ChunkedDecoder::Status::kDone:
          return dispatch();
        case wire::ChunkedDecoder::Status::kTooLarge:
          return refuse(
              problem_response(ErrorCode::kBodyTooLarge,
                               "request body exceeds " + std::to_string(limit) + " bytes"));
        case wire::ChunkedDecoder::Status::kBad:
          return refuse(
              problem_response(ErrorCode::kProtocol, "bad request: malformed chunked body"));
        case wire::ChunkedDecoder::Status::kMore:
          break;
      }
    } else {
      const size_t want = static_cast<size_t>(head_.content_length) - req_.body.size();
      const size_t n = std::min(want, in_.size());
      req_.body.append(in_, 0, n);
      in_.erase(0, n);
      body_received_ += n;
      if (req_.body.size() == head_.content_length) return dispatch();
    }
    // The deadline moves with what has arrived: after the grace, the body must keep up the
    // minimum rate on average (a trickler is cut within a few grace periods).
    arm(body_start_ + std::chrono::milliseconds(transfer_ms(body_received_)));
    read_more(&Connection::on_body_bytes);
  }

  // A streamed body: each piece to the sink (which applies what is whole while the kernel
  // receives on); limits as for a collected body; the sink's time moves the deadline.
  void on_stream_bytes() {
    const size_t limit = admission_.max_body_bytes;
    std::string piece;
    auto st = wire::ChunkedDecoder::Status::kMore;
    if (head_.chunked) {
      size_t used = 0;
      st = chunked_.feed(in_, used, piece, limit - stream_data_);
      body_received_ += used;
      in_.erase(0, used);
    } else {
      const size_t n = std::min<uint64_t>(head_.content_length - stream_data_, in_.size());
      piece.assign(in_, 0, n);
      in_.erase(0, n);
      body_received_ += n;
      if (stream_data_ + n == head_.content_length) st = wire::ChunkedDecoder::Status::kDone;
    }
    stream_data_ += piece.size();
    if (!piece.empty()) {  // what came before a bad chunk too: its whole frames stay applied
      const auto t0 = Clock::now();
      const bool go_on = sink_->feed(piece);
      body_start_ += Clock::now() - t0;
      if (!go_on) return refuse(take_sink_answer());
    }
    if (st == wire::ChunkedDecoder::Status::kTooLarge || st == wire::ChunkedDecoder::Status::kBad) {
      const bool large = st == wire::ChunkedDecoder::Status::kTooLarge;
      return refuse_stream(
          problem_response(large ? ErrorCode::kBodyTooLarge : ErrorCode::kProtocol,
                           large ? "request body exceeds " + std::to_string(limit) + " bytes"
                                 : "bad request: malformed chunked body"));
    }
    if (st == wire::ChunkedDecoder::Status::kDone) return end_stream();
    arm(body_start_ + std::chrono::milliseconds(transfer_ms(body_received_)));
    read_more(&Connection::on_body_bytes);
  }
  Response take_sink_answer() {
    Response r = sink_->answer();
    sink_.reset();
    release_body();
    return r;
  }
  void end_stream() {
    disarm();
    respond(take_sink_answer(), head_.close);
  }
  // A body the transport refuses: our code, and how far the sink got.
  void refuse_stream(Response ours) {
    const Json theirs = Json::parse(take_sink_answer().body, nullptr, false);
    Json mine = Json::parse(ours.body, nullptr, false);
    for (const char* k : {"acked_seq", "frames_applied", "push_stream"}) {
      if (theirs.is_object() && mine.is_object() && theirs.contains(k)) mine[k] = theirs[k];
    }
    if (mine.is_object()) ours.body = mine.dump();
    refuse(std::move(ours));
  }

  // --- answer ------------------------------------------------------------------------------
  void dispatch() {
    disarm();  // the server's own time is not the client's fault
    Response r = sh_.router.handle(req_, admission_);
    std::string().swap(req_.body);
    release_body();
    if (in_.capacity() > 64 * 1024) in_.shrink_to_fit();
    respond(std::move(r), head_.close);
  }

  // Sends `r` and closes the connection; no body byte is read any more.
  void refuse(Response r) { respond(std::move(r), true); }

  void respond(Response r, bool close) {
    // An answer made as it goes (Response::more) is sent chunked to an HTTP/1.1 client,
    // whole to anyone else.
    const bool chunked = r.more && !head_.http10 && head_.method != "HEAD";
    if (r.more && !chunked) {
      try {
        drain_body(r);
      } catch (...) {
        return close_now();  // nothing was sent: the client sees the connection end
      }
    }
    std::string& h = out_head_;
    h.clear();
    h += "HTTP/1.1 " + std::to_string(r.status) + " " + wire::reason_phrase(r.status) + "\r\n";
    if (header_safe(r.content_type)) h += "Content-Type: " + r.content_type + "\r\n";
    for (const auto& [k, v] : r.headers) {
      if (header_safe(k) && header_safe(v)) h += k + ": " + v + "\r\n";
    }
    if (chunked) {
      h += "Transfer-Encoding: chunked\r\n";
      out_body_.clear();
      wire::append_chunk(out_body_, r.body);
      more_ = std::move(r.more);
    } else {
      h += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
      out_body_ = std::move(r.body);
      if (head_.method == "HEAD") out_body_.clear();  // its Content-Length stays
    }
    if (close) h += "Connection: close\r\n";
    h += "\r\n";
    arm_after(transfer_ms(h.size() + out_body_.size()));
    const std::array<asio::const_buffer, 2> bufs{asio::buffer(out_head_), asio::buffer(out_body_)};
    write_all(bufs, [self = shared_from_this(), close](const error_code& e, size_t) {
      self->after_write(e, close);
    });
  }

  // A piece of the answer went out (or failed): the next piece, the next request, or the end.
  void after_write(const error_code& e, bool close) {
    if (closed_) return;
    if (e) return close_now();
    if (more_) return send_more(close);
    std::string().swap(out_body_);
    if (close) return linger();
    next_request();
  }

  // The next piece of a chunked answer, made now that the one before went out.
  void send_more(bool close) {
    disarm();  // the server's own time making the piece is not the client's fault
    std::string piece;
    bool going = false;
    try {
      going = more_(piece);
    } catch (...) {
      more_ = nullptr;
      return close_now();  // no last chunk: the client sees the body cut short
    }
    out_body_.clear();
    wire::append_chunk(out_body_, piece);
    if (!going) {
      out_body_ += "0\r\n\r\n";
      more_ = nullptr;
    }
    arm_after(transfer_ms(out_body_.size()));
    write_all(asio::buffer(out_body_),
              [self = shared_from_this(), close](const error_code& e, size_t) {
                self->after_write(e, close);
              });
  }

  void next_request() {
    sink_.reset();
    head_ = wire::RequestHead{};
    chunked_ = wire::ChunkedDecoder{};
    admission_ = Router::Admission{};
    req_ = Request{};
    read_head();
  }

  // After the last answer: no more sending, discard what the client still sends (bounded),
  // then close, so that the client reads the answer rather than a reset.
  void linger() {
    release_body();
    std::string().swap(req_.body);
    error_code ec;
    sock_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close_now();
    arm_after(kLingerMs);
    lingered_ = 0;
    drain();
  }
  void drain() {
    // The raw socket, also under TLS: these bytes are thrown away undecrypted.
    sock_.async_read_some(asio::buffer(rbuf_),
                          [self = shared_from_this()](const error_code& e, size_t n) {
                            if (self->closed_) return;
                            self->lingered_ += n;
                            if (e || self->lingered_ > kLingerBytes) return self->close_now();
                            self->drain();
                          });
  }

  tcp::socket sock_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  asio::steady_timer timer_;
  Shared& sh_;
  std::string remote_;
  std::array<char, 16 * 1024> rbuf_{};
  std::string in_;  // received, not yet consumed (a head, body bytes, the next request)
  bool closed_ = false;
  uint64_t timer_gen_ = 0;

  size_t scanned_ = 0;
  size_t lines_ = 0;
  wire::RequestHead head_;
  Request req_;
  Router::Admission admission_;
  wire::ChunkedDecoder chunked_;
  size_t body_reserved_ = 0;
  uint64_t body_received_ = 0;
  std::unique_ptr<BodySink> sink_;  // a streamed body's (Router::open_sink)
  uint64_t stream_data_ = 0;        // its bytes so far, chunked coding removed
  Clock::time_point body_start_;
  std::string out_head_;
  std::string out_body_;
  std::function<bool(std::string&)> more_;  // the rest of a chunked answer (Response::more)
  size_t lingered_ = 0;
};

}  // namespace listener_detail

using listener_detail::Connection;
using listener_detail::g_threads;
using listener_detail::Shared;

struct HttpListener::Impl {
  std::unique_ptr<Shared> shared;
  std::unique_ptr<asio::ssl::context> tls;
  std::unique_ptr<asio::io_context> io;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> retry;
  std::vector<std::thread> threads;

  void accept() {
    acceptor->async_accept(asio::make_strand(*io), [this](const error_code& ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
      if (ec) {
        // Out of descriptors or similar: try again shortly instead of spinning.
        retry->expires_after(std::chrono::milliseconds(50));
        retry->async_wait([this](const error_code& e) {
          if (!e) accept();
        });
        return;
      }
      if (shared->connections.load() >= kMaxConnections) {
        error_code ignored;
        s.close(ignored);
      } else {
        auto conn = std::make_shared<Connection>(std::move(s), *shared);
        // Started on its own strand, like every later handler of it.
        asio::dispatch(conn->executor(), [conn] { conn->start(); });
      }
      accept();
    });
  }
};

void HttpListener::initialize_threads(size_t n) { g_threads = n == 0 ? 1 : n; }

HttpListener::HttpListener(std::string host, uint16_t port, Router& router, ListenerOptions options)
    : host_(std::move(host)), port_(port), router_(router), options_(std::move(options)) {}

HttpListener::~HttpListener() {
  try {
    close();
  } catch (...) {
  }
}

void HttpListener::open() {
  auto impl = std::make_unique<Impl>();
  impl->shared = std::make_unique<Shared>(router_, options_);
  if (tls()) {
    // Loaded once: a wrong path or a mismatched key stops the start with a clear message,
    // and every connection shares the context.
    try {
      impl->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      configure_tls(impl->tls->native_handle(), options_);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot load TLS certificate/key (" + options_.tls_cert + ", " +
                               options_.tls_key + "): " + e.what());
    }
    impl->shared->tls = impl->tls.get();
  }
  impl->io = std::make_unique<asio::io_context>(static_cast<int>(g_threads));
  error_code ec;
  const auto address = asio::ip::make_address(host_, ec);
  if (ec) throw std::runtime_error("--listen host must be an IP address such as 127.0.0.1");
  impl->acceptor = std::make_unique<tcp::acceptor>(*impl->io);
  impl->retry = std::make_unique<asio::steady_timer>(*impl->io);
  const tcp::endpoint endpoint(address, port_);
  impl->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor->bind(endpoint, ec);
  if (!ec) impl->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("bind: " + ec.message());
  impl->accept();
  for (size_t i = 0; i < g_threads; ++i) {
    impl->threads.emplace_back([io = impl->io.get()] {
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          // A handler must not throw; if one does, log it and keep serving.
          std::fprintf(stderr, "lumbung-server: listener error: %s\n", e.what());
        }
      }
    });
  }
  impl_ = std::move(impl);
}

void HttpListener::close() {
  if (!impl_) return;
  auto impl = std::move(impl_);
  asio::post(*impl->io, [a = impl->acceptor.get()] {
    error_code ec;
    a->close(ec);
  });
  // A Router call in progress returns first; then every pending handler (and with it every
  // connection) is destroyed with the io_context, before what they point to.
  impl->io->stop();
  for (auto& t : impl->threads) t.join();
  impl->acceptor.reset();
  impl->retry.reset();
  impl->io.reset();
  impl->tls.reset();
  impl->shared.reset();
}

}  // namespace lumbung::server
