// Change-set format v2: the decoder (the format is described at the top of
// changeset_v2.cpp). Bounded: the claimed size against the cap before inflating, CBOR
// depth before the recursive reader descends, and what rebuilding the ops allocates.

#include <zstd.h>

#include <cstring>

#include "changeset/changeset_v2_format.h"
#include "common/gzip.h"
#include "lumbung/changeset.h"
#include "lumbung/error.h"

namespace lumbung {
namespace {

using namespace v2_detail;

std::string uuid_from_bytes(const std::vector<uint8_t>& b) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(hex[b[i] >> 4]);
    s.push_back(hex[b[i] & 15]);
  }
  return s;
}

// The DOM parser, refusing nesting deeper than kMaxDepth before the recursive reader goes
// there (CBOR is parsed recursively: depth would otherwise be bounded by the stack only).
class DepthLimitedSax : public nlohmann::detail::json_sax_dom_parser<Json> {
 public:
  explicit DepthLimitedSax(Json& j) : json_sax_dom_parser(j, true) {}
  bool start_object(std::size_t n) { return deeper() && json_sax_dom_parser::start_object(n); }
  bool start_array(std::size_t n) { return deeper() && json_sax_dom_parser::start_array(n); }
  bool end_object() {
    --depth_;
    return json_sax_dom_parser::end_object();
  }
  bool end_array() {
    --depth_;
    return json_sax_dom_parser::end_array();
  }
  bool too_deep = false;

 private:
  bool deeper() {
    if (++depth_ <= kMaxDepth) return true;
    too_deep = true;
    return false;
  }
  int depth_ = 0;
};

std::string inflate(std::string_view bytes, size_t max_output) {
  if (bytes.size() < kHeaderBytes || !is_changeset_v2(bytes)) bad("no LBC2 header");
  const auto codec = static_cast<uint8_t>(bytes[4]);
  uint64_t size = 0;
  for (int b = 0; b < 4; ++b) size |= uint64_t{static_cast<uint8_t>(bytes[5 + b])} << (8 * b);
  if (size > max_output) too_large("claims " + std::to_string(size) + " bytes");
  const std::string_view body = bytes.substr(kHeaderBytes);
  std::string out;
  if (codec == static_cast<uint8_t>(V2Compression::kZlib)) {
    try {
      out = gzip::decompress(body, size);  // kBodyTooLarge past the claimed size
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kBodyTooLarge) throw;
      bad("zlib stream is damaged");
    }
  } else if (codec == static_cast<uint8_t>(V2Compression::kZstd)) {
    out.resize(size);  // the output never grows past the claim, whatever the frame says
    // One frame (RFC 8878: magic 28 B5 2F FD, then the descriptor whose bit 2 is the
    // Content_Checksum_flag) carrying its checksum, as the encoder writes it.
    const bool checksummed = body.size() >= 5 && static_cast<uint8_t>(body[0]) == 0x28 &&
                             static_cast<uint8_t>(body[1]) == 0xB5 &&
                             static_cast<uint8_t>(body[2]) == 0x2F &&
                             static_cast<uint8_t>(body[3]) == 0xFD && (body[4] & 0x04) != 0;
    if (!checksummed || ZSTD_findFrameCompressedSize(body.data(), body.size()) != body.size()) {
      bad("not one zstd frame with its checksum");
    }
    const size_t n = ZSTD_decompress(out.data(), out.size(), body.data(), body.size());
    if (ZSTD_isError(n)) bad("zstd stream is damaged or larger than claimed");
    out.resize(n);
  } else {
    bad("unknown compression " + std::to_string(codec));
  }
  if (out.size() != size) bad("payload is not the size the header claims");
  return out;
}

Json parse_cbor(const std::string& cbor) {
  Json payload;
  DepthLimitedSax sax(payload);
  bool ok = false;
  try {
    ok = Json::sax_parse(cbor.begin(), cbor.end(), &sax, nlohmann::detail::input_format_t::cbor);
  } catch (const Json::exception& e) {
    if (sax.too_deep) too_large("nested deeper than " + std::to_string(kMaxDepth));
    bad(std::string("CBOR: ") + e.what());
  }
  if (sax.too_deep) too_large("nested deeper than " + std::to_string(kMaxDepth));
  if (!ok || sax.is_errored()) bad("CBOR payload is malformed");
  return payload;
}

// What rebuilding the ops may allocate beyond the parsed payload (strings copied out of
// the dictionaries, one object per op): capped so a small payload cannot expand without
// bound.
struct Budget {
  size_t left;
  void charge(size_t n) {
    if (n > left) too_large("its ops expand beyond the decoder's budget");
    left -= n;
  }
};

// One column of a group, read front to back; it must hold exactly what the kinds need.
struct Column {
  Json* arr = nullptr;
  const char* name = "";
  size_t pos = 0;
  Json& next() {
    if (!arr || pos >= arr->size()) bad(std::string("column \"") + name + "\" is too short");
    return (*arr)[pos++];
  }
  void finished() const {
    if (arr && pos != arr->size()) bad(std::string("column \"") + name + "\" is too long");
  }
};

Column column(Json& group, const char* name) {
  Column c;
  c.name = name;
  auto it = group.find(name);
  if (it == group.end()) return c;
  if (!it->is_array()) bad(std::string("\"") + name + "\" must be an array");
  c.arr = &*it;
  return c;
}

uint64_t wrapping(const Json& v, const char* what) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) return static_cast<uint64_t>(v.get<int64_t>());
  bad(std::string(what) + " must be an integer");
}

const std::string& entry(const Json& dict, const Json& index, const char* what) {
  if (!index.is_number_unsigned() || index.get<uint64_t>() >= dict.size()) {
    bad(std::string(what) + " index out of range");
  }
  return dict[index.get<size_t>()].get_ref<const std::string&>();
}

Json versions(const Json& flat, uint64_t hlc, const Json& fields, const Json& devs,
              Budget& budget) {
  if (!flat.is_array() || flat.size() % 3 != 0) bad("versions must be [field, dhlc, device]...");
  Json out = Json::object();
  for (size_t i = 0; i < flat.size(); i += 3) {
    const std::string& name = entry(fields, flat[i], "field");
    const std::string& dev = entry(devs, flat[i + 2], "device");
    budget.charge(name.size() + dev.size() + 64);
    if (out.contains(name)) bad("a version is named twice");
    out[name] = Json::array({hlc - wrapping(flat[i + 1], "dhlc"), dev});
  }
  return out;
}

const Json& string_array(const Json& obj, const char* name) {
  static const Json empty = Json::array();
  auto it = obj.find(name);
  if (it == obj.end()) return empty;
  if (!it->is_array()) bad(std::string("\"") + name + "\" must be an array");
  for (const Json& s : *it)
    if (!s.is_string()) bad(std::string("\"") + name + "\" must hold strings");
  return *it;
}

std::vector<Json> decode_group(Json& g, const Json& devs, Budget& budget) {
  if (!g.is_object()) bad("a group must be a map");
  for (const auto& item : g.items()) {
    static const char* known[] = {"c", "n", "k", "s", "h", "i",  "iu", "d", "f",
                                  "p", "v", "b", "r", "x", "sv", "rt", "w"};
    bool ok = false;
    for (const char* k : known) ok = ok || item.key() == k;
    if (!ok) bad("unknown group member \"" + item.key().substr(0, 16) + "\"");
  }
  if (!g.contains("c") || !g["c"].is_string()) bad("a group needs its collection \"c\"");
  if (!g.contains("n") || !g["n"].is_number_unsigned()) bad("a group needs its count \"n\"");
  const std::string col = g["c"].get<std::string>();
  const uint64_t n = g["n"].get<uint64_t>();
  budget.charge(n > budget.left / 256 ? budget.left + 1 : n * (256 + col.size()));
  const Json& fields = string_array(g, "f");
  Column k = column(g, "k"), s = column(g, "s"), h = column(g, "h"), id = column(g, "i"),
         d = column(g, "d"), p = column(g, "p"), b = column(g, "b"), r = column(g, "r"),
         x = column(g, "x"), sv = column(g, "sv"), rt = column(g, "rt"), w = column(g, "w");
  std::vector<Column> values(fields.size());
  if (auto v = g.find("v"); v != g.end()) {
    if (!v->is_array() || v->size() != fields.size()) bad("\"v\" must hold one column per field");
    for (size_t f = 0; f < fields.size(); ++f) {
      if (!(*v)[f].is_array()) bad("a value column must be an array");
      values[f].arr = &(*v)[f];
      values[f].name = "v";
    }
  } else if (g.contains("p")) {
    bad("\"p\" without \"v\"");
  }
  const size_t bitmap_bytes = (fields.size() + 7) / 8;
  static const Json::binary_t no_uuids;
  const Json::binary_t* uuids = &no_uuids;
  if (auto iu = g.find("iu"); iu != g.end()) {
    if (!iu->is_binary() || iu->get_binary().size() % 16 != 0) bad("\"iu\" must be 16n bytes");
    uuids = &iu->get_binary();
  }
  const size_t uuid_count = uuids->size() / 16;
  size_t uuid_next = 0;
  std::vector<uint8_t> uuid(16);
  std::vector<Json> ops;
  ops.reserve(n);
  uint64_t seq = 0, hlc = 0;
  for (uint64_t j = 0; j < n; ++j) {
    const Json& kj = k.next();
    if (!kj.is_number_unsigned() || kj.get<uint64_t>() > kAllKinds) bad("bad op kind");
    const uint64_t kind = kj.get<uint64_t>();
    if (kind & kRaw) {
      if (kind != kRaw) bad("a whole op has no other kind");
      ops.push_back(std::move(w.next()));
      continue;
    }
    if ((kind & kSet) && (kind & kRec)) bad("an op is not both set and rec");
    seq += wrapping(s.next(), "seq delta");
    hlc += wrapping(h.next(), "hlc delta");
    Json op = Json::object();
    op["seq"] = seq;
    op["col"] = col;
    const Json& idj = id.next();
    if (idj.is_null()) {
      if (uuid_next >= uuid_count) bad("\"iu\" holds fewer ids than \"i\" names");
      for (size_t b = 0; b < 16; ++b) uuid[b] = (*uuids)[b * uuid_count + uuid_next];
      ++uuid_next;
      op["id"] = uuid_from_bytes(uuid);
    } else if (idj.is_string()) {
      op["id"] = idj;
    } else {
      bad("an id is null (a UUID of \"iu\") or text");
    }
    op["hlc"] = hlc;
    if (kind & kDev) {
      const std::string& dev = entry(devs, d.next(), "device");
      budget.charge(dev.size());
      op["dev"] = dev;
    }
    if (kind & kSv) {
      Json& v = sv.next();
      if (!v.is_number_unsigned()) bad("\"sv\" must be unsigned");
      op["sv"] = std::move(v);
    }
    if (kind & kRet) op["ret"] = std::move(rt.next());
    if (kind & kRefused) op["refused"] = std::move(x.next());
    if (kind & kDel) op["del"] = true;
    if (kind & kGone) op["gone"] = true;
    if (kind & kBase) op["base"] = versions(b.next(), hlc, fields, devs, budget);
    if (kind & (kSet | kRec)) {
      const Json& bits = p.next();
      if (!bits.is_binary() || bits.get_binary().size() != bitmap_bytes) bad("bad field bitmap");
      Json row = Json::object();
      for (size_t f = 0; f < bitmap_bytes * 8; ++f) {
        if (!(bits.get_binary()[f / 8] & (1u << (f % 8)))) continue;
        if (f >= fields.size()) bad("a bitmap names a field beyond \"f\"");
        const std::string& name = fields[f].get_ref<const std::string&>();
        budget.charge(name.size() + 32);
        row[name] = std::move(values[f].next());
      }
      if (kind & kSet) {
        op["set"] = std::move(row);
      } else {
        Json& rj = r.next();
        if (!rj.is_array() || rj.size() != 2) bad("a rec entry is [versions, tombstone]");
        Json tomb = nullptr;
        if (!rj[1].is_null()) {
          if (!rj[1].is_array() || rj[1].size() != 2) bad("a tombstone is [dhlc, device]");
          const std::string& dev = entry(devs, rj[1][1], "device");
          budget.charge(dev.size() + 64);
          tomb = Json::array({hlc - wrapping(rj[1][0], "dhlc"), dev});
        }
        op["rec"] = Json{{"fields", std::move(row)},
                         {"versions", versions(rj[0], hlc, fields, devs, budget)},
                         {"tombstone", std::move(tomb)}};
      }
    }
    ops.push_back(std::move(op));
  }
  for (const Column* c : {&k, &s, &h, &id, &d, &p, &b, &r, &x, &sv, &rt, &w}) c->finished();
  for (const Column& c : values) c.finished();
  if (uuid_next != uuid_count) bad("\"iu\" holds more ids than \"i\" names");
  return ops;
}

}  // namespace

Json decode_changeset_v2(std::string_view bytes, size_t max_output) {
  return v2_detail::decode_payload(inflate(bytes, max_output), max_output);
}

Json v2_detail::decode_payload(const std::string& cbor, size_t max_output) {
  Json payload = parse_cbor(cbor);
  if (!payload.is_object()) bad("the payload must be a map");
  for (const auto& item : payload.items()) {
    if (item.key() != "e" && item.key() != "dv" && item.key() != "g" && item.key() != "o")
      bad("unknown payload member \"" + item.key().substr(0, 16) + "\"");
  }
  auto e = payload.find("e");
  if (e == payload.end() || !e->is_object()) bad("the envelope \"e\" must be a map");
  Json doc = std::move(*e);
  auto g = payload.find("g");
  if (g == payload.end()) {
    if (payload.contains("o") || payload.contains("dv")) bad("\"o\" or \"dv\" without groups");
    return doc;
  }
  if (!g->is_array()) bad("\"g\" must be an array");
  if (doc.contains("ops")) bad("the envelope holds \"ops\" as well as groups");
  const Json& devs = string_array(payload, "dv");
  Budget budget{4 * max_output + 4096};
  std::vector<std::vector<Json>> groups;
  for (Json& group : *g) groups.push_back(decode_group(group, devs, budget));
  Json ops = Json::array();
  if (groups.size() == 1) {
    for (Json& op : groups[0]) ops.push_back(std::move(op));
  } else if (groups.size() > 1) {
    auto o = payload.find("o");
    if (o == payload.end() || !o->is_array()) bad("\"o\" must give the ops' order");
    std::vector<size_t> taken(groups.size(), 0);
    for (const Json& gi : *o) {
      if (!gi.is_number_unsigned() || gi.get<uint64_t>() >= groups.size()) bad("bad group index");
      const size_t i = gi.get<size_t>();
      if (taken[i] >= groups[i].size()) bad("\"o\" names a group more often than it has ops");
      ops.push_back(std::move(groups[i][taken[i]++]));
    }
    for (size_t i = 0; i < groups.size(); ++i)
      if (taken[i] != groups[i].size()) bad("\"o\" leaves ops of a group out");
  }
  if (groups.size() <= 1 && payload.contains("o")) bad("\"o\" with fewer than two groups");
  doc["ops"] = std::move(ops);
  return doc;
}

}  // namespace lumbung
