// A small command-line reader shared by both tools. Options are taken out by name as the
// command asks for them (`--name VALUE`, `--name=VALUE`, or a bare `--flag`); what is left
// is positional. finish() refuses options nobody asked for, so a typo is a usage error
// (exit 2) instead of being ignored.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace lumbung::cli {

class Args {
 public:
  Args(int argc, char** argv, int first = 1);
  explicit Args(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {}

  // True if `--name` is present (removed).
  bool flag(const std::string& name);
  // The value of `--name VALUE` / `--name=VALUE` (the last one if repeated), or nullopt.
  // Throws Error(kInvalidArgument) if the option has no value.
  std::optional<std::string> value(const std::string& name);
  // Every value of a repeatable option, in order.
  std::vector<std::string> values(const std::string& name);
  // Options of the form --something VALUE that a caller accepts generically (enrol's
  // per-field flags): returns (name, value) pairs and removes them.
  std::vector<std::pair<std::string, std::string>> take_all_options();

  // Removes and returns the next positional token ("" if none).
  std::string next();
  // Positional tokens still unread.
  const std::vector<std::string>& rest() const { return tokens_; }
  // Throws Error(kInvalidArgument) naming the first token nobody consumed.
  void finish() const;

 private:
  std::vector<std::string> tokens_;
};

}  // namespace lumbung::cli
