// Change-set format v2 (engine/src/changeset/changeset_v2.cpp): exact round trip of every
// op member v1 carries, and clean refusals of truncated, garbled and oversized input.
#include <doctest/doctest.h>
#include <zlib.h>
#include <zstd.h>

#include <random>

#include "lumbung/changeset.h"
#include "lumbung/error.h"

using namespace lumbung;

namespace {

constexpr size_t kCap = 1 << 20;
const V2EncodeOptions kZlib{V2Compression::kZlib, 9};
const V2EncodeOptions kZstd{V2Compression::kZstd, 19};

// Equal as JSON and as text: the same members, values and number kinds.
void check_round_trip(const Json& doc) {
  for (const V2EncodeOptions& o : {kZlib, kZstd}) {
    const std::string bytes = encode_changeset_v2(doc, o);
    REQUIRE(is_changeset_v2(bytes));
    const Json back = decode_changeset_v2(bytes, kCap);
    CHECK(back == doc);
    CHECK(back.dump() == doc.dump());
  }
}

ErrorCode refusal(std::string_view bytes, size_t cap = kCap) {
  try {
    decode_changeset_v2(bytes, cap);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;  // decoded: not what the caller expected
}

// A frame around a hand-made payload (zlib), to reach the decoder's structural checks.
std::string frame(const std::vector<uint8_t>& cbor, uint32_t claimed) {
  uLongf n = compressBound(static_cast<uLong>(cbor.size()));
  std::string z(n, '\0');
  REQUIRE(compress2(reinterpret_cast<Bytef*>(z.data()), &n, cbor.data(),
                    static_cast<uLong>(cbor.size()), 6) == Z_OK);
  z.resize(n);
  std::string out = "LBC2";
  out.push_back(1);
  for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((claimed >> (8 * b)) & 0xFF));
  return out + z;
}
std::string frame(const Json& payload) {
  const auto cbor = Json::to_cbor(payload);
  return frame(cbor, static_cast<uint32_t>(cbor.size()));
}

bool same_op(const Op& a, const Op& b) {
  return a.seq == b.seq && a.collection == b.collection && a.id == b.id && a.version == b.version &&
         a.is_delete == b.is_delete && a.set == b.set && a.base == b.base && a.record == b.record &&
         a.gone == b.gone && a.refusal == b.refusal && a.schema_version == b.schema_version &&
         a.retired == b.retired;
}

const char* kUuid = "0193a6c2-7d1e-7000-8000-00000000000a";

}  // namespace

TEST_CASE("v2 carries every op member of v1 exactly") {
  Json ops = Json::array();
  Op set;
  set.seq = 1;
  set.collection = "enrolment";
  set.id = kUuid;
  set.version = {(uint64_t{1733300000000} << 16) | 3, "dev-a"};
  set.set = {{"phone", "081234567890"}, {"income", 2500000}, {"address", nullptr},
             {"ratio", 0.25},           {"ok", true},        {"kids", Json::array({{{"n", "A"}}})}};
  set.base = {{"phone", Version{100, "dev-b"}}, {"*", Version{99, "dev-c"}}};
  set.schema_version = 3;
  Op del = set;
  del.seq = 2;
  del.is_delete = true;
  del.set = Json::object();
  del.base = {{"phone", Version{set.version.hlc, "dev-a"}}, {"name", Version{7, "dev-b"}}};
  del.schema_version = 1;
  Op old_del = del;  // a version-1 delete: one "*" base
  old_del.seq = 3;
  old_del.base = {{"*", Version{5, "dev-b"}}};
  Op empty = set;  // every field of a create overwritten before the push
  empty.seq = 4;
  empty.set = Json::object();
  empty.base.clear();
  Op odd_id = set;
  odd_id.seq = 5;
  odd_id.id = "0193A6C2-7D1E-7000-8000-00000000000A";  // uppercase: travels as text
  Op other = set;                                      // another collection, interleaved
  other.seq = 6;
  other.collection = "household";
  other.id = "hh-1";
  for (const Op* op : {&set, &del, &old_del, &empty, &odd_id, &other}) {
    ops.push_back(encode_op(*op, false));
  }
  Json change_set{{"device", "dev-a"},
                  {"ops", ops},
                  {"report", {{"pending", 6}, {"records", 10}, {"last_seq", 6}}}};
  check_round_trip(change_set);

  SUBCASE("and decodes to the same ops as v1") {
    const Json back = decode_changeset_v2(encode_changeset_v2(change_set), kCap);
    Json v1 = change_set;
    v1.erase("report");
    Json v2 = back;
    v2.erase("report");
    const ChangeSet a = decode_changeset(v1), b = decode_changeset(v2);
    REQUIRE(a.ops.size() == b.ops.size());
    for (size_t i = 0; i < a.ops.size(); ++i) CHECK(same_op(a.ops[i], b.ops[i]));
  }

  // A pull page: ops with "dev", the server's rec/gone/refused notices, retired values.
  Json page_ops = Json::array();
  for (const Op* op : {&set, &del, &other}) page_ops.push_back(encode_op(*op, true));
  page_ops[0]["ret"] = {{"old_field", "x"}};
  const uint64_t h = set.version.hlc + 10;
  page_ops.push_back({{"seq", 7},
                      {"col", "enrolment"},
                      {"id", kUuid},
                      {"hlc", h},
                      {"dev", "server"},
                      {"rec",
                       {{"fields", {{"name", "Siti"}, {"phone", nullptr}}},
                        {"versions", {{"name", {h - 5, "dev-b"}}, {"*", {h - 9, "dev-a"}}}},
                        {"tombstone", nullptr}}}});
  page_ops.push_back({{"seq", 8},
                      {"col", "enrolment"},
                      {"id", "r-2"},
                      {"hlc", h + 1},
                      {"dev", "server"},
                      {"rec",
                       {{"fields", Json::object()},
                        {"versions", Json::object()},
                        {"tombstone", {h - 2, "dev-c"}}}}});
  page_ops.push_back({{"seq", 9},
                      {"col", "enrolment"},
                      {"id", kUuid},
                      {"hlc", h + 2},
                      {"dev", "server"},
                      {"gone", true}});
  page_ops.push_back({{"seq", 10},
                      {"col", "enrolment"},
                      {"id", kUuid},
                      {"hlc", h + 3},
                      {"dev", "server"},
                      {"refused",
                       {{"device", "dev-a"},
                        {"seq", 4},
                        {"code", "validation"},
                        {"field", "nik"},
                        {"message", "not 16 digits"}}}});
  const Json page{{"ops", page_ops},
                  {"next", "c:42"},
                  {"more", true},
                  {"reset", false},
                  {"server_time_ms", 1733300000123},
                  {"schema_version", 2}};
  check_round_trip(page);
  const Json back = decode_changeset_v2(encode_changeset_v2(page), kCap);
  for (size_t i = 0; i < page_ops.size(); ++i) {
    CHECK(same_op(decode_op(page_ops[i], ""), decode_op(back["ops"][i], "")));
  }
}

TEST_CASE("v2 carries odd ops and documents whole") {
  Json ops = Json::array();
  ops.push_back({{"seq", 1}, {"col", "c"}, {"id", "x"}, {"hlc", 5}, {"set", {}}, {"extra", 1}});
  ops.push_back({{"seq", 2}, {"col", "c"}, {"id", "x"}, {"hlc", 6}, {"del", false}});
  ops.push_back({{"seq", -3}, {"col", "c"}, {"id", "x"}, {"hlc", 7.5}, {"set", {}}});
  ops.push_back({{"seq", 4}, {"col", "c"}, {"id", 9}, {"hlc", 8}, {"base", {{"a", 1}}}});
  ops.push_back({{"seq", 5}, {"col", "c"}, {"id", "x"}, {"hlc", 9}, {"set", {}}, {"rec", {}}});
  ops.push_back("not an op");
  ops.push_back(Json::object());
  ops.push_back({{"seq", 6}, {"col", "c"}, {"id", "y"}, {"hlc", 1}, {"set", {{"a", 1}}}});
  check_round_trip(Json{{"device", "d"}, {"ops", ops}});
  check_round_trip(Json{{"device", "d"}, {"ops", Json::array()}});
  check_round_trip(Json{{"device", "d"}, {"ops", "not an array"}});
  check_round_trip(Json::object());
  check_round_trip(Json{{"acked_seq", 3}, {"unicode", "Désa Cibodas \xe2\x9c\x93"}});
  CHECK_THROWS_AS(encode_changeset_v2(Json::array()), Error);
}

TEST_CASE("v2 round-trips random documents") {
  std::mt19937_64 rng(14);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto value = [&]() -> Json {
    switch (pick(8)) {
      case 0:
        return nullptr;
      case 1:
        return pick(2) == 0;
      case 2:
        return static_cast<int64_t>(rng()) >> pick(64);
      case 3:
        return rng() >> pick(64);
      case 4:
        return static_cast<double>(rng() % 100000) / 7.0;
      case 5:
        return std::string(static_cast<size_t>(pick(20)), static_cast<char>('a' + pick(26)));
      case 6:
        return Json::array({pick(100), "x"});
      default:
        return Json{{"k", pick(5)}, {"l", Json::array()}};
    }
  };
  const char* fields[] = {"name", "nik", "phone", "birth_date", "village", "*", "a b"};
  const char* devices[] = {"dev-a", "dev-b", "server", "d"};
  const char* cols[] = {"enrolment", "household", ""};
  auto version = [&] { return Json::array({rng() >> pick(64), devices[pick(4)]}); };
  for (int round = 0; round < 200; ++round) {
    Json ops = Json::array();
    const int n = pick(40);
    for (int i = 0; i < n; ++i) {
      Json op{{"seq", rng() >> pick(64)}, {"col", cols[pick(3)]}, {"hlc", rng() >> pick(64)}};
      op["id"] = pick(3) ? std::string(kUuid).substr(0, 35) + std::to_string(pick(10))
                         : std::string("id-") + std::to_string(pick(1000));
      if (pick(2)) op["dev"] = devices[pick(4)];
      if (pick(4) == 0) op["sv"] = pick(5) + 1;
      if (pick(6) == 0) op["ret"] = {{fields[pick(7)], value()}};
      Json members = Json::object();
      for (int f = pick(7); f > 0; --f) members[fields[pick(7)]] = value();
      Json versions = Json::object();
      for (int f = pick(4); f > 0; --f) versions[fields[pick(7)]] = version();
      switch (pick(6)) {
        case 0:
          op["del"] = true;
          break;
        case 1:
          op["rec"] = {{"fields", members},
                       {"versions", versions},
                       {"tombstone", pick(2) ? Json(nullptr) : version()}};
          break;
        case 2:
          op["gone"] = true;
          break;
        case 3:
          op["refused"] = {{"device", "d"}, {"seq", pick(9) + 1}, {"code", "x"}};
          break;
        default:
          op["set"] = members;
      }
      if (pick(2) && !op.contains("rec")) op["base"] = versions;
      if (pick(30) == 0) op["unknown"] = value();
      ops.push_back(std::move(op));
    }
    check_round_trip(Json{{"device", devices[pick(4)]}, {"ops", ops}, {"next", "n"}});
  }
}

TEST_CASE("v2 refuses truncated and garbled input with kProtocol") {
  Json ops = Json::array();
  for (int i = 1; i <= 30; ++i) {
    ops.push_back({{"seq", i},
                   {"col", "enrolment"},
                   {"id", kUuid},
                   {"hlc", 1000 + i},
                   {"set", {{"name", "n" + std::to_string(i)}}}});
  }
  const Json doc{{"device", "dev-a"}, {"ops", ops}};
  for (const V2EncodeOptions& o : {kZlib, kZstd}) {
    const std::string bytes = encode_changeset_v2(doc, o);
    for (size_t len = 0; len < bytes.size(); ++len) {
      const ErrorCode c = refusal(bytes.substr(0, len));
      CHECK((c == ErrorCode::kProtocol || c == ErrorCode::kBodyTooLarge));
    }
    std::mt19937 rng(7);
    int refused = 0;
    for (int i = 0; i < 300; ++i) {
      std::string g = bytes;
      g[rng() % g.size()] ^= static_cast<char>(1 + rng() % 255);
      try {
        const Json j = decode_changeset_v2(g, kCap);
        CHECK(j.is_object());  // a flip that still decodes yields a document, checked later by v1
      } catch (const Error& e) {
        CHECK((e.code() == ErrorCode::kProtocol || e.code() == ErrorCode::kBodyTooLarge));
        ++refused;
      }
    }
    CHECK(refused > 0);
  }
  CHECK(refusal("{\"device\":\"d\",\"ops\":[]}") == ErrorCode::kProtocol);
  CHECK(refusal("") == ErrorCode::kProtocol);
  std::string unknown = encode_changeset_v2(doc);
  unknown[4] = 9;  // no such compression
  CHECK(refusal(unknown) == ErrorCode::kProtocol);
}

TEST_CASE("v2 refuses payloads whose columns do not agree") {
  const Json group{{"c", "enrolment"}, {"n", 1},     {"k", {1}},   {"s", {1}},
                   {"h", {5}},         {"i", {"x"}}, {"f", {"a"}}, {"p", {Json::binary({1})}},
                   {"v", {{"v"}}}};
  const Json good{{"e", {{"device", "d"}}}, {"g", {group}}};
  const Json decoded = decode_changeset_v2(frame(good), kCap);
  CHECK(decoded["ops"][0]["set"]["a"] == "v");
  auto with = [&](const char* member, const Json& value) {
    Json p = good;
    p["g"][0][member] = value;
    return refusal(frame(p));
  };
  CHECK(with("n", 2) == ErrorCode::kProtocol);                    // a column too short
  CHECK(with("s", {1, 2}) == ErrorCode::kProtocol);               // a column too long
  CHECK(with("k", {4096}) == ErrorCode::kProtocol);               // no such kind
  CHECK(with("k", {1 | 512}) == ErrorCode::kProtocol);            // whole and columns at once
  CHECK(with("k", {1 | 256}) == ErrorCode::kProtocol);            // "dev" but no "d" column
  CHECK(with("p", {Json::binary({2})}) == ErrorCode::kProtocol);  // bit beyond "f"
  CHECK(with("p", {Json::binary({1, 0})}) == ErrorCode::kProtocol);
  CHECK(with("i", {5}) == ErrorCode::kProtocol);
  CHECK(with("i", {nullptr}) == ErrorCode::kProtocol);  // a UUID that "iu" does not hold
  CHECK(with("iu", Json::binary(std::vector<uint8_t>(16, 1))) == ErrorCode::kProtocol);
  CHECK(with("iu", Json::binary(std::vector<uint8_t>(5, 1))) == ErrorCode::kProtocol);
  CHECK(with("v", {{"v"}, {"w"}}) == ErrorCode::kProtocol);
  CHECK(with("zz", 1) == ErrorCode::kProtocol);
  CHECK(with("b", {{0, 1, 3}}) == ErrorCode::kProtocol);  // unused column, wrong size
  Json p = good;
  p["g"][0]["k"] = {1 | 128};
  p["g"][0]["b"] = {{0, 1, 3}};  // device 3 of an empty dictionary
  CHECK(refusal(frame(p)) == ErrorCode::kProtocol);
  p = good;
  p["e"]["ops"] = Json::array();
  CHECK(refusal(frame(p)) == ErrorCode::kProtocol);
  p = good;
  p["g"].push_back(group);  // two groups and no order
  CHECK(refusal(frame(p)) == ErrorCode::kProtocol);
  p["o"] = {0, 0};
  CHECK(refusal(frame(p)) == ErrorCode::kProtocol);
  p["o"] = {1, 0};
  CHECK(decode_changeset_v2(frame(p), kCap)["ops"].size() == 2);
  CHECK(refusal(frame(Json::array({1}))) == ErrorCode::kProtocol);
}

TEST_CASE("v2 refuses huge claims before allocating") {
  const Json doc{{"device", "d"}, {"ops", Json::array()}};
  std::string claim = encode_changeset_v2(doc);
  claim[5] = claim[6] = claim[7] = claim[8] = static_cast<char>(0xFF);  // 4 GiB
  CHECK(refusal(claim) == ErrorCode::kBodyTooLarge);
  // Compressible beyond the cap (a zip bomb), claiming its real size or a small one.
  const Json big{{"e", {{"pad", std::string(4 << 20, 'a')}}}};
  for (const V2EncodeOptions& o : {kZlib, kZstd}) {
    const std::string bomb = encode_changeset_v2(big["e"], o);
    CHECK(bomb.size() < 100000);
    CHECK(refusal(bomb) == ErrorCode::kBodyTooLarge);
    std::string lying = bomb;
    lying[5] = 100;
    lying[6] = lying[7] = lying[8] = 0;
    const ErrorCode c = refusal(lying);
    CHECK((c == ErrorCode::kProtocol || c == ErrorCode::kBodyTooLarge));
  }
  // A group claiming a billion ops, and nesting deeper than the decoder goes.
  const Json many{{"e", Json::object()},
                  {"g", {{{"c", "c"}, {"n", 1000000000}, {"k", Json::array()}}}}};
  CHECK(refusal(frame(many)) == ErrorCode::kBodyTooLarge);
  Json deep = Json::array();
  for (int i = 0; i < 200; ++i) deep = Json::array({deep});
  CHECK(refusal(frame(Json{{"e", {{"x", deep}}}})) == ErrorCode::kBodyTooLarge);
  // A claimed string or array longer than the payload.
  const std::vector<uint8_t> long_string = {0xA1, 0x61, 'e', 0x7A, 0x7F, 0xFF, 0xFF, 0xFF};
  CHECK(refusal(frame(long_string, static_cast<uint32_t>(long_string.size()))) ==
        ErrorCode::kProtocol);
  const std::vector<uint8_t> long_array = {0xA1, 0x61, 'e', 0x9A, 0x7F, 0xFF, 0xFF, 0xFF};
  CHECK(refusal(frame(long_array, static_cast<uint32_t>(long_array.size()))) ==
        ErrorCode::kProtocol);
}

TEST_CASE("v2 refuses a zstd frame without its checksum") {
  const auto cbor = Json::to_cbor(Json{{"e", {{"a", 1}}}});
  std::string z(ZSTD_compressBound(cbor.size()), '\0');
  z.resize(ZSTD_compress(z.data(), z.size(), cbor.data(), cbor.size(), 3));  // no checksum
  std::string body = "LBC2";
  body.push_back(2);
  for (int b = 0; b < 4; ++b) body.push_back(static_cast<char>((cbor.size() >> (8 * b)) & 0xFF));
  CHECK(refusal(body + z) == ErrorCode::kProtocol);
  const std::string good = encode_changeset_v2(Json{{"a", 1}});
  CHECK(decode_changeset_v2(good, kCap) == Json{{"a", 1}});
  CHECK(refusal(good + good.substr(9)) == ErrorCode::kProtocol);  // a second frame after it
}
