// CHANGE-SET FORMAT v2 (docs/PROTOCOL.md "Change-set format v2", byte by byte).
//
//   "LBC2"  magic, 4 bytes
//   u8      compression: 1 = zlib stream (RFC 1950), 2 = zstd frame(s) (RFC 8878)
//   u32 LE  size of the CBOR payload once decompressed
//   ...     the compressed CBOR (RFC 8949) payload, a map:
//     "e": the v1 document without its "ops" (the envelope: device, report, next, ...)
//     "dv": [device, ...]            dictionary of every device named by the ops
//     "g": [group, ...]              present iff the document had an "ops" array
//     "o": [group index per op]      the ops' order, only when there are 2+ groups
//   a group holds the ops of one collection, in document order:
//     "c": collection   "n": op count
//     "k": [kind bits per op]        kSet ... kRaw below
//     "s": [seq - previous seq]      "h": [hlc - previous hlc]   (signed, wrapping)
//     "i": [null | text] the record id; null = the next UUID of "iu"
//     "iu": the ids that are canonical lowercase UUIDs, 16 bytes each, byte-plane order
//           (every id's byte 0, then every byte 1, ...: the version nibbles, variant bits
//           and a v7 id's time prefix line up for the compressor)
//     "d": [dv index per op with "dev"]
//     "f": [field name, ...]         names of set/rec fields, base and versions keys
//     "p": [bitmap per set/rec op]   bit j (byte j/8, bit j%8) = field j present
//     "v": [[values of field j in op order], ...]
//     "b": [[f, hlc - base hlc, dv, ...] per op with base]
//     "r": [[[f, hlc - ver hlc, dv, ...], tombstone] per rec op]; tombstone null | [dh, dv]
//     "x": refused notices   "sv": schema versions   "rt": retired values   (one per op
//     whose kind has the bit), "w": whole ops that the columns do not describe exactly.
// Columns a group does not use are left out. Ops marked kRaw ("w") take no part in deltas.

#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <unordered_map>

#include "common/gzip.h"
#include "lumbung/changeset.h"
#include "lumbung/error.h"

namespace lumbung {
namespace {

constexpr char kMagic[4] = {'L', 'B', 'C', '2'};
constexpr size_t kHeaderBytes = 9;
constexpr int kMaxDepth = 64;

enum Kind : uint64_t {
  kSet = 1, kDel = 2, kRec = 4, kGone = 8, kRefused = 16,
  kSv = 32, kRet = 64, kBase = 128, kDev = 256, kRaw = 512,
};
constexpr uint64_t kAllKinds = 1023;

[[noreturn]] void bad(const std::string& what) {
  throw Error(ErrorCode::kProtocol, "invalid change set v2: " + what);
}
[[noreturn]] void too_large(const std::string& what) {
  throw Error(ErrorCode::kBodyTooLarge, "change set v2 too large: " + what);
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is not canonical: it travels as text
}

// A canonical lowercase 8-4-4-4-12 UUID as 16 bytes, or false.
bool uuid_to_bytes(const std::string& s, std::vector<uint8_t>* out) {
  if (s.size() != 36) return false;
  out->clear();
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
      ++i;
      continue;
    }
    const int hi = hexval(s[i]), lo = hexval(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<uint8_t>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

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

bool is_version(const Json& v) {
  return v.is_array() && v.size() == 2 && v[0].is_number_unsigned() && v[1].is_string();
}
bool is_version_map(const Json& m) {
  if (!m.is_object()) return false;
  for (const auto& item : m.items())
    if (!is_version(item.value())) return false;
  return true;
}

int64_t delta(uint64_t now, uint64_t prev) { return static_cast<int64_t>(now - prev); }

struct Dict {
  Json names = Json::array();
  std::unordered_map<std::string, uint64_t> index;
  uint64_t of(const std::string& s) {
    auto [it, added] = index.emplace(s, index.size());
    if (added) names.push_back(s);
    return it->second;
  }
};

// The kind bits of an op the columns describe exactly, or kRaw.
uint64_t classify(const Json& op) {
  if (!op.is_object()) return kRaw;
  for (const char* k : {"seq", "hlc"}) {
    auto it = op.find(k);
    if (it == op.end() || !it->is_number_unsigned()) return kRaw;
  }
  for (const char* k : {"col", "id"}) {
    auto it = op.find(k);
    if (it == op.end() || !it->is_string()) return kRaw;
  }
  uint64_t kind = 0;
  for (const auto& item : op.items()) {
    const std::string& k = item.key();
    const Json& v = item.value();
    if (k == "seq" || k == "hlc" || k == "col" || k == "id") continue;
    if (k == "dev" && v.is_string()) kind |= kDev;
    else if (k == "set" && v.is_object()) kind |= kSet;
    else if (k == "del" && v == Json(true)) kind |= kDel;
    else if (k == "gone" && v == Json(true)) kind |= kGone;
    else if (k == "sv" && v.is_number_unsigned()) kind |= kSv;
    else if (k == "ret") kind |= kRet;
    else if (k == "refused") kind |= kRefused;
    else if (k == "base" && is_version_map(v)) kind |= kBase;
    else if (k == "rec" && v.is_object() && v.size() == 3 && v.contains("fields") &&
             v["fields"].is_object() && v.contains("versions") && is_version_map(v["versions"]) &&
             v.contains("tombstone") && (v["tombstone"].is_null() || is_version(v["tombstone"])))
      kind |= kRec;
    else return kRaw;
  }
  if ((kind & kSet) && (kind & kRec)) return kRaw;  // both would use the field rows
  return kind;
}

struct GroupOut {
  Json k = Json::array(), s = Json::array(), h = Json::array(), i = Json::array();
  Json d = Json::array(), b = Json::array(), r = Json::array(), x = Json::array();
  Json sv = Json::array(), rt = Json::array(), w = Json::array();
  Dict fields;
  std::vector<uint8_t> uuids;                // "iu", id after id (transposed at the end)
  std::vector<std::vector<uint64_t>> rows;  // field indexes present, per set/rec op
  std::vector<Json> values;                 // per field: its column
  uint64_t seq = 0, hlc = 0, n = 0;
};

Json versions_flat(const Json& map, uint64_t hlc, GroupOut& g, Dict& devs) {
  Json flat = Json::array();
  for (const auto& item : map.items()) {
    flat.push_back(g.fields.of(item.key()));
    flat.push_back(delta(hlc, item.value()[0].get<uint64_t>()));
    flat.push_back(devs.of(item.value()[1].get_ref<const std::string&>()));
  }
  return flat;
}

void add_op(const Json& op, GroupOut& g, Dict& devs) {
  ++g.n;
  const uint64_t kind = classify(op);
  g.k.push_back(kind);
  if (kind == kRaw) {
    g.w.push_back(op);
    return;
  }
  const uint64_t seq = op["seq"].get<uint64_t>(), hlc = op["hlc"].get<uint64_t>();
  g.s.push_back(delta(seq, g.seq));
  g.h.push_back(delta(hlc, g.hlc));
  g.seq = seq;
  g.hlc = hlc;
  std::vector<uint8_t> uuid;
  const std::string& id = op["id"].get_ref<const std::string&>();
  if (uuid_to_bytes(id, &uuid)) {
    g.i.push_back(nullptr);
    g.uuids.insert(g.uuids.end(), uuid.begin(), uuid.end());
  } else {
    g.i.push_back(id);
  }
  if (kind & kDev) g.d.push_back(devs.of(op["dev"].get_ref<const std::string&>()));
  if (kind & kSv) g.sv.push_back(op["sv"]);
  if (kind & kRet) g.rt.push_back(op["ret"]);
  if (kind & kRefused) g.x.push_back(op["refused"]);
  if (kind & kBase) g.b.push_back(versions_flat(op["base"], hlc, g, devs));
  if (kind & (kSet | kRec)) {
    const Json& values = (kind & kSet) ? op["set"] : op["rec"]["fields"];
    std::vector<uint64_t> row;
    for (const auto& item : values.items()) {
      const uint64_t f = g.fields.of(item.key());
      if (g.values.size() <= f) g.values.resize(f + 1, Json::array());
      g.values[f].push_back(item.value());
      row.push_back(f);
    }
    g.rows.push_back(std::move(row));
  }
  if (kind & kRec) {
    const Json& rec = op["rec"];
    Json tomb = nullptr;
    if (!rec["tombstone"].is_null()) {
      tomb = Json::array({delta(hlc, rec["tombstone"][0].get<uint64_t>()),
                          devs.of(rec["tombstone"][1].get_ref<const std::string&>())});
    }
    g.r.push_back(Json::array({versions_flat(rec["versions"], hlc, g, devs), std::move(tomb)}));
  }
}

Json finish_group(const std::string& col, GroupOut& g) {
  Json out = Json::object();
  out["c"] = col;
  out["n"] = g.n;
  out["k"] = std::move(g.k);
  const std::pair<const char*, Json*> cols[] = {{"s", &g.s},  {"h", &g.h},   {"i", &g.i},
                                                {"d", &g.d},  {"b", &g.b},   {"r", &g.r},
                                                {"x", &g.x},  {"sv", &g.sv}, {"rt", &g.rt},
                                                {"w", &g.w}};
  for (const auto& c : cols)
    if (!c.second->empty()) out[c.first] = std::move(*c.second);
  if (!g.uuids.empty()) {
    const size_t m = g.uuids.size() / 16;
    std::vector<uint8_t> planes(g.uuids.size());
    for (size_t k = 0; k < m; ++k)
      for (size_t j = 0; j < 16; ++j) planes[j * m + k] = g.uuids[k * 16 + j];
    out["iu"] = Json::binary(std::move(planes));
  }
  if (!g.fields.names.empty()) out["f"] = std::move(g.fields.names);
  if (!g.rows.empty()) {
    const size_t nbytes = (g.fields.index.size() + 7) / 8;
    Json p = Json::array();
    for (const auto& row : g.rows) {
      std::vector<uint8_t> bits(nbytes, 0);
      for (uint64_t f : row) bits[f / 8] |= static_cast<uint8_t>(1u << (f % 8));
      p.push_back(Json::binary(std::move(bits)));
    }
    out["p"] = std::move(p);
    g.values.resize(g.fields.index.size(), Json::array());
    out["v"] = Json(std::move(g.values));
  }
  return out;
}

std::string compress(const std::vector<uint8_t>& in, const V2EncodeOptions& o) {
  std::string out;
  if (o.compression == V2Compression::kZstd) {
    out.resize(ZSTD_compressBound(in.size()));
    const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), o.level);
    if (ZSTD_isError(n)) throw Error(ErrorCode::kInternal, "zstd compression failed");
    out.resize(n);
  } else {
    uLongf n = compressBound(static_cast<uLong>(in.size()));
    out.resize(n);
    if (compress2(reinterpret_cast<Bytef*>(out.data()), &n, in.data(), static_cast<uLong>(in.size()),
                  o.level) != Z_OK) {
      throw Error(ErrorCode::kInternal, "zlib compression failed");
    }
    out.resize(n);
  }
  return out;
}

// The DOM parser, refusing nesting deeper than kMaxDepth before the recursive reader goes
// there (CBOR is parsed recursively: depth would otherwise be bounded by the stack only).
class DepthLimitedSax : public nlohmann::detail::json_sax_dom_parser<Json> {
 public:
  explicit DepthLimitedSax(Json& j) : json_sax_dom_parser(j, true) {}
  bool start_object(std::size_t n) { return deeper() && json_sax_dom_parser::start_object(n); }
  bool start_array(std::size_t n) { return deeper() && json_sax_dom_parser::start_array(n); }
  bool end_object() { --depth_; return json_sax_dom_parser::end_object(); }
  bool end_array() { --depth_; return json_sax_dom_parser::end_array(); }
  bool too_deep = false;

 private:
  bool deeper() {
    if (++depth_ <= kMaxDepth) return true;
    too_deep = true;
    return false;
  }
  int depth_ = 0;
};

}  // namespace

bool is_changeset_v2(std::string_view bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), kMagic, 4) == 0;
}

std::string encode_changeset_v2(const Json& document, const V2EncodeOptions& options) {
  if (!document.is_object()) throw Error(ErrorCode::kInvalidArgument, "a v2 document is an object");
  Json payload = Json::object();
  auto ops = document.find("ops");
  if (ops != document.end() && ops->is_array()) {
    Json envelope = document;
    envelope.erase("ops");
    payload["e"] = std::move(envelope);
    Dict devs;
    std::vector<std::pair<std::string, GroupOut>> groups;
    std::unordered_map<std::string, size_t> group_of;
    Json order = Json::array();
    for (const Json& op : *ops) {
      const bool named = op.is_object() && op.contains("col") && op["col"].is_string();
      const std::string col = named ? op["col"].get<std::string>() : std::string();
      auto [it, added] = group_of.emplace(col, groups.size());
      if (added) groups.emplace_back(col, GroupOut{});
      order.push_back(it->second);
      add_op(op, groups[it->second].second, devs);
    }
    Json g = Json::array();
    for (auto& entry : groups) g.push_back(finish_group(entry.first, entry.second));
    payload["g"] = std::move(g);
    if (groups.size() > 1) payload["o"] = std::move(order);
    if (!devs.names.empty()) payload["dv"] = std::move(devs.names);
  } else {
    payload["e"] = document;
  }
  const std::vector<uint8_t> cbor = Json::to_cbor(payload);
  if (cbor.size() > 0xFFFFFFFFu) throw Error(ErrorCode::kInvalidArgument, "v2 document too large");
  std::string out(kMagic, 4);
  out.push_back(static_cast<char>(options.compression));
  for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((cbor.size() >> (8 * b)) & 0xFF));
  out += compress(cbor, options);
  return out;
}

namespace {

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

Json versions(const Json& flat, uint64_t hlc, const Json& fields, const Json& devs, Budget& budget) {
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
    static const char* known[] = {"c", "n", "k", "s", "h", "i", "iu", "d", "f", "p",
                                  "v", "b", "r", "x", "sv", "rt", "w"};
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
  Json payload = parse_cbor(inflate(bytes, max_output));
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
