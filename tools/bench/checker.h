// Collects verification failures of a scenario (printed on stderr as they happen).
#pragma once

#include <cstdio>
#include <string>

namespace lumbung::bench {

class Checker {
 public:
  explicit Checker(std::string scenario) : scenario_(std::move(scenario)) {}
  void operator()(bool cond, const std::string& what) {
    if (cond) return;
    std::fprintf(stderr, "%s: VERIFY FAILED: %s\n", scenario_.c_str(), what.c_str());
    ok_ = false;
  }
  bool ok() const { return ok_; }

 private:
  std::string scenario_;
  bool ok_ = true;
};

}  // namespace lumbung::bench
