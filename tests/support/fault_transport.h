// A Transport that wraps a real one and misbehaves on request, the way a 2G link does:
// it loses a request before it reaches the server, loses the answer after the server
// acted, cuts the answer mid-body, or delivers a request twice. Faults are queued and
// consumed one per request; with an empty queue it passes everything through.
#pragma once

#include <deque>
#include <exception>
#include <memory>
#include <vector>

#include "lumbung/error.h"
#include "lumbung/sync.h"

namespace lumbung::test {

// kKeepCopy: delivered, and a copy kept that deliver_kept() sends later (a proxy that
// retries a request long after, e.g. into a server restored in between).
enum class Fault { kNone, kDropRequest, kDropResponse, kCutResponse, kDuplicateRequest, kKeepCopy };

class FaultTransport final : public Transport {
 public:
  explicit FaultTransport(Transport& inner) : inner_(inner) {}

  void queue(Fault f, int times = 1) {
    for (int i = 0; i < times; ++i) faults_.push_back(f);
  }
  // Applies `f` to the first request whose target starts with `prefix` (others pass).
  void on(const std::string& prefix, Fault f) {
    prefix_ = prefix;
    targeted_ = f;
  }
  int requests_seen() const { return seen_; }
  // Sends the copies kept by kKeepCopy, oldest first; their answers are dropped. A copy
  // is tried up to 3 times (the first may meet a connection the server closed).
  void deliver_kept() {
    for (const HttpRequest& r : kept_) {
      for (int attempt = 0; attempt < 3; ++attempt) {
        try {
          deliver(r);
          break;
        } catch (const std::exception&) {
          if (attempt == 2) throw;
        }
      }
    }
    kept_.clear();
  }
  int requests_delivered() const { return delivered_; }

  HttpResponse send(const HttpRequest& request) override {
    ++seen_;
    Fault f = Fault::kNone;
    if (targeted_ != Fault::kNone && request.target.rfind(prefix_, 0) == 0) {
      f = targeted_;
      targeted_ = Fault::kNone;
    } else if (!faults_.empty()) {
      f = faults_.front();
      faults_.pop_front();
    }
    switch (f) {
      case Fault::kNone:
        break;
      case Fault::kDropRequest:
        throw Error(ErrorCode::kTransport, "injected: request lost");
      case Fault::kDropResponse:
        deliver(request);
        throw Error(ErrorCode::kTransport, "injected: response lost");
      case Fault::kCutResponse: {
        HttpRequest whole = request;  // a streamed pull's body too is read whole, then cut
        whole.on_body = nullptr;
        whole.stream_type.clear();
        HttpResponse r = deliver(whole);
        r.body.resize(r.body.size() / 2);  // the link died halfway through the body
        return r;
      }
      case Fault::kDuplicateRequest:
        deliver(request);
        break;
      case Fault::kKeepCopy: {
        HttpRequest copy = request;
        copy.on_bytes = nullptr;  // they point into the sync that sent it
        copy.stop = nullptr;
        copy.on_body = nullptr;
        copy.stream_type.clear();
        kept_.push_back(std::move(copy));
        break;
      }
    }
    return deliver(request);
  }

 private:
  HttpResponse deliver(const HttpRequest& request) {
    ++delivered_;
    return inner_.send(request);
  }

  Transport& inner_;
  std::deque<Fault> faults_;
  std::vector<HttpRequest> kept_;
  std::string prefix_;
  Fault targeted_ = Fault::kNone;
  int seen_ = 0;
  int delivered_ = 0;
};

}  // namespace lumbung::test
