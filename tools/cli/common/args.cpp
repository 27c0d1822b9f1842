#include "common/args.h"

#include "common/i18n.h"
#include "lumbung/error.h"

namespace lumbung::cli {

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) tokens_.emplace_back(argv[i]);
}

bool Args::flag(const std::string& name) {
  const std::string opt = "--" + name;
  bool found = false;
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    if (*it == opt) {
      it = tokens_.erase(it);
      found = true;
    } else {
      ++it;
    }
  }
  return found;
}

std::optional<std::string> Args::value(const std::string& name) {
  std::vector<std::string> all = values(name);
  if (all.empty()) return std::nullopt;
  return all.back();
}

std::vector<std::string> Args::values(const std::string& name) {
  const std::string opt = "--" + name;
  std::vector<std::string> out;
  for (size_t i = 0; i < tokens_.size();) {
    const std::string& t = tokens_[i];
    if (t == opt) {
      if (i + 1 >= tokens_.size()) {
        throw Error(ErrorCode::kInvalidArgument, tr("usage.needs_value", {{"opt", opt}}));
      }
      out.push_back(tokens_[i + 1]);
      tokens_.erase(tokens_.begin() + static_cast<std::ptrdiff_t>(i),
                    tokens_.begin() + static_cast<std::ptrdiff_t>(i) + 2);
    } else if (t.compare(0, opt.size() + 1, opt + "=") == 0) {
      out.push_back(t.substr(opt.size() + 1));
      tokens_.erase(tokens_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Args::take_all_options() {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < tokens_.size();) {
    const std::string& t = tokens_[i];
    if (t.size() > 2 && t.compare(0, 2, "--") == 0) {
      const size_t eq = t.find('=');
      if (eq != std::string::npos) {
        out.emplace_back(t.substr(2, eq - 2), t.substr(eq + 1));
        tokens_.erase(tokens_.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      if (i + 1 >= tokens_.size()) {
        throw Error(ErrorCode::kInvalidArgument, tr("usage.needs_value", {{"opt", t}}));
      }
      out.emplace_back(t.substr(2), tokens_[i + 1]);
      tokens_.erase(tokens_.begin() + static_cast<std::ptrdiff_t>(i),
                    tokens_.begin() + static_cast<std::ptrdiff_t>(i) + 2);
    } else {
      ++i;
    }
  }
  return out;
}

std::string Args::next() {
  for (auto it = tokens_.begin(); it != tokens_.end(); ++it) {
    if (it->size() > 1 && it->compare(0, 2, "--") == 0) continue;
    std::string v = *it;
    tokens_.erase(it);
    return v;
  }
  return {};
}

void Args::finish() const {
  if (tokens_.empty()) return;
  throw Error(ErrorCode::kInvalidArgument, tr("usage.unknown_arg", {{"arg", tokens_.front()}}));
}

}  // namespace lumbung::cli
