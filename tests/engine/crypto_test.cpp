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
  // The value stored files hold: the top 63 bits of HMAC(HMAC(key, label), text).
  const std::string key = random_bytes(kKeyBytes);
  const std::string mac =
      hmac_sha256(hmac_sha256(key, "lumbung blind index v1"), "7242111911808654");
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(mac[i]);
  CHECK(Keyring(key).blind_index("7242111911808654") == static_cast<int64_t>(v >> 1));
}

TEST_CASE("the keyring's kept cipher contexts seal and open as seal() and open() do") {
  const std::string key = random_bytes(kKeyBytes);
  Keyring k(key);
  for (int i = 0; i < 3; ++i) {  // the contexts are reused message after message
    const std::string a = k.seal("7242111911808654", "rec:1");
    CHECK(open(key, a, "rec:1") == std::optional<std::string>("7242111911808654"));
    CHECK(k.open(seal(key, "x", "rec:2"), "rec:2") == std::optional<std::string>("x"));
    CHECK_FALSE(k.open(a, "rec:2"));
    std::string bad = a;
    bad[kNonceBytes] ^= 1;
    CHECK_FALSE(k.open(bad, "rec:1"));
    CHECK(k.open(a, "rec:1") == std::optional<std::string>("7242111911808654"));
  }
  CHECK_FALSE(Keyring(random_bytes(kKeyBytes)).open(k.seal("y", "a"), "a"));
}

TEST_CASE("row MACs: HMAC-SHA256/128 of an encoding that cannot be read two ways") {
  const std::string key = random_bytes(kKeyBytes);
  RowMac m(key);
  const std::string ab = m.begin("t").add("ab").add("c").finish();
  CHECK(ab.size() == kRowMacBytes);
  // The context is reused row after row: the same input gives the same MAC.
  CHECK(m.begin("t").add("ab").add("c").finish() == ab);
  // Equal to HMAC-SHA256 of the documented encoding, cut to 128 bits.
  const std::string enc = std::string("\x01\0\0\0\x01t", 6) +
                          std::string(
                              "\x01\0\0\0\x02"
                              "ab",
                              7) +
                          std::string(
                              "\x01\0\0\0\x01"
                              "c",
                              6);
  CHECK(hmac_sha256(key, enc).substr(0, kRowMacBytes) == ab);
  // Moving a boundary, NULL against empty, another table, another key: all differ.
  CHECK(m.begin("t").add("a").add("bc").finish() != ab);
  CHECK(m.begin("t").add_null().finish() != m.begin("t").add("").finish());
  CHECK(m.begin("u").add("ab").add("c").finish() != ab);
  CHECK(RowMac(random_bytes(kKeyBytes)).begin("t").add("ab").add("c").finish() != ab);
  // Integers hash as their decimal text (how SQLite renders an INTEGER column).
  CHECK(m.begin("t").add(int64_t{-42}).finish() == m.begin("t").add("-42").finish());
  // The keyring's row MAC key is its own (not the data key, not the blind-index key).
  Keyring k(key);
  CHECK(k.row_mac().begin("t").add("ab").add("c").finish() != ab);
}
