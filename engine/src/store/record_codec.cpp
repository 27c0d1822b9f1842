#include "store/record_codec.h"

#include <map>

#include "lumbung/error.h"

namespace lumbung::codec {

std::string json_quote(const std::string& s) { return Json(s).dump(); }

std::string encode_doc(const RecordState& st) {
  Json doc = Json::object();
  for (const auto& [name, fv] : st.fields) doc[name] = fv.value;
  return doc.dump();
}

std::string encode_versions(const RecordState& st) {
  // No fields (a record that holds only a tombstone): no shared version to name.
  if (st.fields.empty()) return "{}";
  std::map<Version, size_t> freq;
  for (const auto& [_, fv] : st.fields) ++freq[fv.version];
  Version common;
  size_t best = 0;
  for (const auto& [v, n] : freq) {
    if (n >= best) {
      best = n;
      common = v;
    }
  }
  std::string out = "{\"\":[" + std::to_string(common.hlc) + "," + json_quote(common.device) + "]";
  for (const auto& [name, fv] : st.fields) {
    if (fv.version == common) continue;
    out += "," + json_quote(name) + ":[" + std::to_string(fv.version.hlc) + "," +
           json_quote(fv.version.device) + "]";
  }
  out += "}";
  return out;
}

std::string encode_one_version(const Version& v) {
  return "{\"\":[" + std::to_string(v.hlc) + "," + json_quote(v.device) + "]}";
}

RecordState decode_state(std::string_view doc, std::string_view ver, int64_t del_hlc,
                         std::string_view del_dev) {
  Json d;
  try {
    d = Json::parse(doc);
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::kCorrupt, std::string("stored record is not JSON: ") + e.what());
  }
  return decode_state(std::move(d), ver, del_hlc, del_dev);
}

RecordState decode_state(Json doc, std::string_view ver, int64_t del_hlc,
                         std::string_view del_dev) {
  RecordState st;
  Json v;
  try {
    v = Json::parse(ver);
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::kCorrupt, std::string("stored versions are not JSON: ") + e.what());
  }
  if (!doc.is_object() || !v.is_object())
    throw Error(ErrorCode::kCorrupt, "stored record is not an object");
  Version common;
  if (auto it = v.find(""); it != v.end()) common = decode_version(*it);
  for (auto& [name, value] : doc.items()) {
    auto it = v.find(name);
    st.fields.emplace(name,
                      FieldValue{std::move(value), it == v.end() ? common : decode_version(*it)});
  }
  st.tombstone = Version{static_cast<uint64_t>(del_hlc), std::string(del_dev)};
  if (st.tombstone.hlc == 0) st.tombstone = Version{};
  return st;
}

namespace {

Json encode_side(const ConflictSide& s) {
  Json j{{"value", s.value}, {"version", encode_version(s.version)}};
  if (s.is_delete) j["delete"] = true;
  return j;
}

ConflictSide decode_side(const Json& j) {
  ConflictSide s{j.at("value"), decode_version(j.at("version"))};
  if (auto it = j.find("delete"); it != j.end()) s.is_delete = it->is_boolean() && it->get<bool>();
  return s;
}

}  // namespace

Json encode_conflict(const Conflict& c) {
  Json j{{"id", c.id},
         {"kind", conflict_kind_name(c.kind)},
         {"collection", c.collection},
         {"record_id", c.record_id},
         {"field", c.field},
         {"winner", encode_side(c.winner)},
         {"loser", encode_side(c.loser)}};
  if (!c.other_record.empty()) j["other_record"] = c.other_record;
  return j;
}

ConflictKind conflict_kind_from(const std::string& s) {
  for (auto k : {ConflictKind::kConcurrentUpdate, ConflictKind::kUpdateDelete,
                 ConflictKind::kNeedsReview, ConflictKind::kDuplicateKey}) {
    if (s == conflict_kind_name(k)) return k;
  }
  throw Error(ErrorCode::kCorrupt, "unknown conflict kind " + s);
}

Conflict decode_conflict(const Json& j) {
  Conflict c;
  c.id = j.at("id").get<std::string>();
  c.kind = conflict_kind_from(j.at("kind").get<std::string>());
  c.collection = j.at("collection").get<std::string>();
  c.record_id = j.at("record_id").get<std::string>();
  c.field = j.at("field").get<std::string>();
  c.winner = decode_side(j.at("winner"));
  c.loser = decode_side(j.at("loser"));
  if (auto it = j.find("other_record"); it != j.end()) c.other_record = it->get<std::string>();
  return c;
}

namespace {

std::optional<int64_t> digits_value(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

int64_t pow10(size_t n) {
  int64_t p = 1;
  while (n--) p *= 10;
  return p;
}

}  // namespace

std::optional<int64_t> scope_key(std::string_view region_code) {
  auto v = digits_value(region_code, 10);
  if (!v) return std::nullopt;
  return *v * pow10(10 - region_code.size());
}

std::optional<std::pair<int64_t, int64_t>> scope_range(std::string_view prefix) {
  auto v = digits_value(prefix, 10);
  if (!v) return std::nullopt;
  const int64_t unit = pow10(10 - prefix.size());
  return std::make_pair(*v * unit, (*v + 1) * unit);
}

NaturalKey natural_key(std::string_view value) {
  NaturalKey k;
  k.text = value;
  if (!value.empty() && value[0] != '0') {
    if (auto v = digits_value(value, 18)) {
      k.is_int = true;
      k.i = *v;
    }
  }
  return k;
}

}  // namespace lumbung::codec
