#include <doctest/doctest.h>

#include "lumbung/changeset.h"
#include "lumbung/error.h"

using namespace lumbung;

namespace {

ErrorCode code_of(const Json& j) {
  try {
    decode_changeset(j);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;  // decoded: not what the caller expected
}

}  // namespace

TEST_CASE("a change set round-trips through JSON") {
  ChangeSet cs;
  cs.device = "dev-a";
  Op set;
  set.seq = 1;
  set.collection = "enrolment";
  set.id = "0193a6c2-0000-7000-8000-000000000001";
  set.version = {123456789, "dev-a"};
  set.set = {{"phone", "081234567890"}, {"monthly_income", 2500000}, {"address", nullptr}};
  set.base = {{"phone", Version{100, "dev-b"}}};
  Op del;
  del.seq = 2;
  del.collection = "enrolment";
  del.id = set.id;
  del.version = {123456790, "dev-a"};
  del.is_delete = true;
  del.base = {{"*", Version{123456789, "dev-a"}}};
  cs.ops = {set, del};

  const Json j = encode_changeset(cs);
  CHECK_FALSE(j["ops"][0].contains("dev"));  // implied by the change set
  const ChangeSet back = decode_changeset(Json::parse(j.dump()));
  REQUIRE(back.ops.size() == 2);
  CHECK(back.device == "dev-a");
  CHECK(back.ops[0].version == set.version);
  CHECK(back.ops[0].set == set.set);
  CHECK(back.ops[0].base.at("phone") == Version{100, "dev-b"});
  CHECK(back.ops[1].is_delete);
  CHECK(back.ops[1].base.at("*") == set.version);
}

TEST_CASE("an op carried alone (a pull page) names its device") {
  Op op;
  op.seq = 9;
  op.collection = "enrolment";
  op.id = "x";
  op.version = {77, "dev-z"};
  op.set = {{"a", 1}};
  const Json j = encode_op(op, true);
  CHECK(j["dev"] == "dev-z");
  CHECK(decode_op(j, "").version.device == "dev-z");
}

TEST_CASE("a pulled refusal notice names the device and seq it refuses") {
  const Json notice = {{"seq", 4},
                       {"col", "enrolment"},
                       {"id", "x"},
                       {"hlc", 77},
                       {"dev", "server"},
                       {"refused",
                        {{"device", "dev-c"},
                         {"seq", 12},
                         {"code", "out_of_scope"},
                         {"field", "village_code"},
                         {"message", "op seq 12: outside"}}}};
  const Op op = decode_op(notice, "");
  CHECK(op.refusal["device"] == "dev-c");
  CHECK(op.refusal["seq"] == 12);
  CHECK(op.set.empty());
  auto bad = [&](const char* key, Json value) {
    Json j = notice;
    j["refused"][key] = std::move(value);
    try {
      decode_op(j, "");
    } catch (const Error& e) {
      return e.code() == ErrorCode::kProtocol;
    }
    return false;
  };
  CHECK(bad("seq", 0));
  CHECK(bad("seq", "12"));
  CHECK(bad("device", 5));
  CHECK(bad("code", Json()));
  CHECK(bad("message", 1));
  Json with_set = notice;
  with_set["set"] = {{"a", 1}};
  CHECK_THROWS_AS(decode_op(with_set, ""), Error);  // a notice stands alone
}

TEST_CASE("a compact rec gives its shared version to every field it does not name") {
  const Json page_op = {{"seq", 1},
                        {"col", "enrolment"},
                        {"id", "x"},
                        {"hlc", 90},
                        {"dev", "server"},
                        {"rec",
                         {{"fields", {{"a", 1}, {"b", 2}, {"c", nullptr}}},
                          {"versions", {{"*", {50u, "dev-a"}}, {"b", {90u, "dev-b"}}}},
                          {"tombstone", nullptr}}}};
  const Op op = decode_op(page_op, "");
  CHECK_FALSE(op.record["versions"].contains("*"));
  CHECK(decode_version(op.record["versions"]["a"]) == Version{50, "dev-a"});
  CHECK(decode_version(op.record["versions"]["b"]) == Version{90, "dev-b"});
  CHECK(decode_version(op.record["versions"]["c"]) == Version{50, "dev-a"});
  Json bad = page_op;
  bad["rec"]["versions"]["*"] = "50.dev-a";
  CHECK_THROWS_AS(decode_op(bad, ""), Error);
}

TEST_CASE("malformed change sets are refused with protocol_error") {
  const Json ok_op = {
      {"seq", 1}, {"col", "enrolment"}, {"id", "x"}, {"hlc", 5}, {"set", {{"a", 1}}}};
  CHECK(code_of(Json{{"device", "d"}, {"ops", Json::array({ok_op})}}) == ErrorCode::kInternal);
  CHECK(code_of(Json::array()) == ErrorCode::kProtocol);
  CHECK(code_of(Json{{"ops", Json::array()}}) == ErrorCode::kProtocol);  // no device
  CHECK(code_of(Json{{"device", "d"}, {"ops", 5}}) == ErrorCode::kProtocol);
  CHECK(code_of(Json{{"device", "d"}, {"ops", Json::array()}, {"extra", 1}}) ==
        ErrorCode::kProtocol);

  auto with = [&](const char* key, Json value) {
    Json op = ok_op;
    op[key] = std::move(value);
    return Json{{"device", "d"}, {"ops", Json::array({op})}};
  };
  CHECK(code_of(with("seq", -1)) == ErrorCode::kProtocol);
  CHECK(code_of(with("seq", 0)) == ErrorCode::kProtocol);
  CHECK(code_of(with("seq", "1")) == ErrorCode::kProtocol);
  CHECK(code_of(with("hlc", 1.5)) == ErrorCode::kProtocol);
  CHECK(code_of(with("col", "")) == ErrorCode::kProtocol);
  CHECK(code_of(with("id", std::string(65, 'x'))) == ErrorCode::kProtocol);
  CHECK(code_of(with("set", Json::array())) == ErrorCode::kProtocol);
  CHECK(code_of(with("set", Json::object())) == ErrorCode::kInternal);  // allowed: keeps seq
  CHECK(code_of(with("del", true)) == ErrorCode::kProtocol);            // set and del together
  CHECK(code_of(with("unknown", 1)) == ErrorCode::kProtocol);
  CHECK(code_of(with("refused", {{"device", "d"}, {"seq", 1}, {"code", "x"}})) ==
        ErrorCode::kProtocol);  // the server's notice, never pushed
  CHECK(code_of(with("base", {{"b", Json::array({1, "d"})}})) ==
        ErrorCode::kProtocol);  // b not set
  CHECK(code_of(with("base", {{"a", Json::array({1})}})) == ErrorCode::kProtocol);
  CHECK(code_of(with("base", {{"a", Json::array({0, "d"})}})) == ErrorCode::kProtocol);

  Json two = Json{{"device", "d"}, {"ops", Json::array({ok_op, ok_op})}};
  CHECK(code_of(two) == ErrorCode::kProtocol);  // seq not increasing
}

TEST_CASE("version text and JSON forms") {
  const Version v{42, "dev"};
  CHECK(version_to_string(v) == "42.dev");
  CHECK(decode_version(encode_version(v)) == v);
}
