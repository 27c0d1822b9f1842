#include <doctest/doctest.h>

#include "crypto/crypto.h"

using namespace lumbung::crypto;

TEST_CASE("seal and open round-trip: a wrong key - changed byte or other aad fails") {
  const std::string key = random_bytes(kKeyBytes);
  const std::string sealed = seal(key, "7242111911808654", "rec:1");
  CHECK(sealed.size() == kNonceBytes + 16 + kTagBytes);
  CHECK(sealed.find("7242111911808654") == std::string::npos);
  CHECK(open(key, sealed, "rec:1") == std::optional<std::string>("7242111911808654"));
  CHECK_FALSE(open(random_bytes(kKeyBytes), sealed, "rec:1"));
  CHECK_FALSE(open(key, sealed, "rec:2"));  // moved to another row
  std::string tampered = sealed;
  tampered[kNonceBytes + 3] ^= 1;
  CHECK_FALSE(open(key, tampered, "rec:1"));
  CHECK_FALSE(open(key, sealed.substr(0, 10), "rec:1"));
  CHECK(seal(key, "same", "a") != seal(key, "same", "a"));  // fresh nonce each time
}

TEST_CASE("scrypt derives the same key from the same passphrase and salt only") {
  KdfParams p;
  p.salt = random_bytes(16);
  p.n = 1024;  // small for the test
  const std::string a = derive_key("kopi tubruk", p);
  CHECK(a.size() == kKeyBytes);
  CHECK(derive_key("kopi tubruk", p) == a);
  CHECK(derive_key("kopi susu", p) != a);
  KdfParams q = p;
  q.salt = random_bytes(16);
  CHECK(derive_key("kopi tubruk", q) != a);
}

TEST_CASE("base64 round-trips every length") {
  for (size_t n = 0; n < 40; ++n) {
    const std::string b = random_bytes(n);
    CHECK(unbase64(base64(b)) == std::optional<std::string>(b));
  }
  CHECK_FALSE(unbase64("abc"));
}

TEST_CASE("the blind index is keyed: same text same key - other key other value") {
  Keyring k1(random_bytes(kKeyBytes)), k2(random_bytes(kKeyBytes));
  CHECK(k1.blind_index("7242111911808654") == k1.blind_index("7242111911808654"));
  CHECK(k1.blind_index("7242111911808654") != k1.blind_index("7242111911808655"));
  CHECK(k1.blind_index("7242111911808654") != k2.blind_index("7242111911808654"));
  CHECK(k1.blind_index("x") >= 0);
}
