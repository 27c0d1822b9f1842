#include "common/uuid.h"

#include <openssl/rand.h>

#include <array>
#include <mutex>
#include <random>

#include "lumbung/error.h"

namespace lumbung {
namespace {

// Random bits come from a per-thread generator seeded from OpenSSL's CSPRNG: UUIDs need
// uniqueness, not secrecy, and RAND_bytes per id would cost more than the rest of a write.
std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen = [] {
    std::array<unsigned char, 32> seed{};
    if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) {
      throw Error(ErrorCode::kInternal, "cannot seed the id generator");
    }
    std::seed_seq seq(seed.begin(), seed.end());
    return std::mt19937_64(seq);
  }();
  return gen;
}

}  // namespace

std::string make_uuid_v7(int64_t unix_ms) {
  std::array<uint8_t, 16> b{};
  const uint64_t ms = static_cast<uint64_t>(unix_ms) & 0xFFFFFFFFFFFFull;
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  const uint64_t r1 = rng()(), r2 = rng()();
  for (int i = 0; i < 2; ++i) b[6 + i] = static_cast<uint8_t>(r1 >> (8 * i));
  for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<uint8_t>(r2 >> (8 * i));
  b[6] = static_cast<uint8_t>((b[6] & 0x0F) | 0x70);  // version 7
  b[8] = static_cast<uint8_t>((b[8] & 0x3F) | 0x80);  // variant 10
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[b[i] >> 4]);
    out.push_back(hex[b[i] & 0xF]);
  }
  return out;
}

bool is_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace lumbung
