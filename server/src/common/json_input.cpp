#include "common/json_input.h"

#include <atomic>
#include <cmath>
#include <vector>

#include "api/problem.h"
#include "lumbung/error.h"
#include "lumbung/tuning.h"

namespace lumbung::server {
namespace {

// What nlohmann 3.11's DOM allocates, in glibc malloc chunks on 64-bit (measured with
// mallinfo2 on parsed bodies: "[{},...]" 81 B an element, "[[],...]" 49, "[\"\",...]" 65,
// "[0,...]" 17, {"k":0,...} 96 a member; real push ops 5.9-6.5 B per byte of text).
constexpr size_t kRootSlot = 16;     // the basic_json itself
constexpr size_t kArraySlot = 32;    // 16 B in the vector, doubled for its growth slack
constexpr size_t kMemberCost = 112;  // std::map node: rb header + std::string key + value
constexpr size_t kObjectCost = 64;   // the std::map, allocated for every object
constexpr size_t kArrayCost = 32;    // the std::vector, allocated for every array
constexpr size_t kStringCost = 48;   // the std::string, allocated for every string value

// A string's own heap buffer beyond the small-string optimisation (15 chars).
size_t long_string_cost(size_t len) { return len > 15 ? ((len + 1 + 15) / 16) * 16 + 16 : 0; }

std::atomic<size_t> g_budget_used{0};

// Builds the document through nlohmann's SAX interface, as its own DOM parser does, but
// refuses an object that names a member twice. Containers in progress are kept by pointer:
// an element of an array or object is not moved while it is on the stack (its parent gets
// no new element until the child is complete).
class DomBuilder {
 public:
  explicit DomBuilder(Json& root) : root_(root) {}

  bool null() { return put(Json(nullptr)) != nullptr; }
  bool boolean(bool v) { return put(Json(v)) != nullptr; }
  bool number_integer(Json::number_integer_t v) { return put(Json(v)) != nullptr; }
  bool number_unsigned(Json::number_unsigned_t v) { return put(Json(v)) != nullptr; }
  bool number_float(Json::number_float_t v, const Json::string_t&) {
    return put(Json(v)) != nullptr;
  }
  bool string(Json::string_t& v) { return put(Json(std::move(v))) != nullptr; }
  bool binary(Json::binary_t&) {
    throw Error(ErrorCode::kMalformedJson, "request body is not JSON");
  }
  bool start_object(std::size_t) { return open(put(Json::object())); }
  bool start_array(std::size_t) { return open(put(Json::array())); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(Json::string_t& k) {
    auto& obj = stack_.back()->get_ref<Json::object_t&>();
    auto [it, fresh] = obj.emplace(std::move(k), nullptr);
    if (!fresh) {
      throw Error(ErrorCode::kMalformedJson, "request body repeats a member name in an object");
    }
    member_ = &it->second;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    if (e.id == 406) {  // out_of_range.406: a number the parser cannot hold, e.g. 1e400
      throw Error(ErrorCode::kMalformedJson, "request body has a number out of range");
    }
    // Say where, never what: bodies hold personal data.
    throw Error(ErrorCode::kMalformedJson,
                "request body is not valid JSON (at byte " + std::to_string(position) + ")");
  }

 private:
  Json* put(Json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json& top = *stack_.back();
    if (top.is_array()) {
      auto& arr = top.get_ref<Json::array_t&>();
      arr.push_back(std::move(v));
      return &arr.back();
    }
    *member_ = std::move(v);
    return member_;
  }
  bool open(Json* container) {
    if (stack_.size() >= static_cast<size_t>(kMaxJsonDepth)) {  // the pre-scan stops it first
      throw Error(ErrorCode::kJsonTooDeep,
                  "JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    stack_.push_back(container);
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  Json& root_;
  std::vector<Json*> stack_;
  Json* member_ = nullptr;
};

}  // namespace

void check_json_depth(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          throw Error(ErrorCode::kJsonTooDeep,
                      "JSON nests deeper than " + std::to_string(max_depth) + " levels");
        }
        break;
      case ']':
      case '}':
        --depth;
        break;
      default:
        break;
    }
  }
}

size_t estimate_json_heap(std::string_view text, int max_depth) {
  // Kinds of the open containers; a fixed array since max_depth bounds it (no allocation).
  constexpr int kMaxTracked = 256;
  if (max_depth > kMaxTracked) max_depth = kMaxTracked;
  bool is_object[kMaxTracked + 1] = {};
  int depth = 0;
  bool expect_key = false;  // in an object, after '{' or ','
  bool in_scalar = false;   // inside a number or literal (true, false, null)
  size_t cost = 0;
  // Cost of the place a new value occupies: a member's node was counted at its key.
  auto slot = [&]() -> size_t {
    if (depth == 0) return kRootSlot;
    return is_object[depth] ? 0 : kArraySlot;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      in_scalar = false;
      size_t len = 0;
      size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        if (text[j] == '\\') ++j;
        ++len;  // escapes counted as their raw bytes' share: an upper bound
      }
      if (depth > 0 && is_object[depth] && expect_key) {
        cost += kMemberCost + long_string_cost(len);
        expect_key = false;
      } else {
        cost += slot() + kStringCost + long_string_cost(len);
      }
      i = j;  // the closing quote (or the end of a truncated text)
      continue;
    }
    switch (c) {
      case '{':
      case '[':
        in_scalar = false;
        cost += slot() + (c == '{' ? kObjectCost : kArrayCost);
        if (++depth > max_depth) {
          throw Error(ErrorCode::kJsonTooDeep,
                      "JSON nests deeper than " + std::to_string(max_depth) + " levels");
        }
        is_object[depth] = c == '{';
        expect_key = c == '{';
        break;
      case '}':
      case ']':
        in_scalar = false;
        if (depth > 0) --depth;
        expect_key = false;
        break;
      case ',':
        in_scalar = false;
        expect_key = depth > 0 && is_object[depth];
        break;
      case ':':
        in_scalar = false;
        expect_key = false;
        break;
      case ' ':
      case '\t':
      case '\r':
      case '\n':
        in_scalar = false;
        break;
      default:
        if (!in_scalar) {  // a number or literal starts: one more value
          cost += slot();
          in_scalar = true;
        }
        break;
    }
  }
  return cost;
}

JsonLease::~JsonLease() {
  if (bytes_ > 0) g_budget_used.fetch_sub(bytes_);
}

size_t JsonLease::in_use() { return g_budget_used.load(); }

bool JsonLease::take(size_t bytes) {
  size_t used = g_budget_used.load();
  do {
    if (used + bytes > kMaxJsonParseBytes) return false;
  } while (!g_budget_used.compare_exchange_weak(used, used + bytes));
  bytes_ += bytes;
  return true;
}

Json parse_json_input(std::string_view text, JsonLease* lease) {
  const size_t cost = estimate_json_heap(text, kMaxJsonDepth);
  if (cost > kMaxJsonParseBytes) {
    throw Error(ErrorCode::kBodyTooLarge,
                "request body has too many JSON values: parsing it would take ~" +
                    std::to_string(cost >> 20) + " MiB, the limit is " +
                    std::to_string(kMaxJsonParseBytes >> 20) + " MiB");
  }
  if (lease && !lease->take(cost)) {
    throw ProblemError(ErrorCode::kRateLimited,
                       "the server is parsing other large bodies; retry after 1 s",
                       Json{{"retry_after_s", 1}});
  }
  Json out;
  DomBuilder builder(out);
  try {
    Json::sax_parse(text, &builder);
  } catch (const Error&) {
    throw;
  } catch (const Json::exception&) {
    throw Error(ErrorCode::kMalformedJson, "request body is not valid JSON");
  }
  return out;
}

}  // namespace lumbung::server
