// CHANGE-SET FORMAT v2 (docs/PROTOCOL.md "Change-set format v2", byte by byte).
//
//   "LBC2"  magic, 4 bytes
//   u8      compression: 1 = zlib stream (RFC 1950), 2 = one zstd frame with checksum (RFC 8878)
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

#include "changeset/changeset_v2_format.h"
#include "lumbung/changeset.h"
#include "lumbung/error.h"

namespace lumbung {
namespace {

using namespace v2_detail;

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
    if (k == "dev" && v.is_string())
      kind |= kDev;
    else if (k == "set" && v.is_object())
      kind |= kSet;
    else if (k == "del" && v == Json(true))
      kind |= kDel;
    else if (k == "gone" && v == Json(true))
      kind |= kGone;
    else if (k == "sv" && v.is_number_unsigned())
      kind |= kSv;
    else if (k == "ret")
      kind |= kRet;
    else if (k == "refused")
      kind |= kRefused;
    else if (k == "base" && is_version_map(v))
      kind |= kBase;
    else if (k == "rec" && v.is_object() && v.size() == 3 && v.contains("fields") &&
             v["fields"].is_object() && v.contains("versions") && is_version_map(v["versions"]) &&
             v.contains("tombstone") && (v["tombstone"].is_null() || is_version(v["tombstone"])))
      kind |= kRec;
    else
      return kRaw;
  }
  if ((kind & kSet) && (kind & kRec)) return kRaw;  // both would use the field rows
  return kind;
}

struct GroupOut {
  Json k = Json::array(), s = Json::array(), h = Json::array(), i = Json::array();
  Json d = Json::array(), b = Json::array(), r = Json::array(), x = Json::array();
  Json sv = Json::array(), rt = Json::array(), w = Json::array();
  Dict fields;
  std::vector<uint8_t> uuids;               // "iu", id after id (transposed at the end)
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
  const std::pair<const char*, Json*> cols[] = {
      {"s", &g.s}, {"h", &g.h}, {"i", &g.i},   {"d", &g.d},   {"b", &g.b},
      {"r", &g.r}, {"x", &g.x}, {"sv", &g.sv}, {"rt", &g.rt}, {"w", &g.w}};
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
    // With the content checksum (XXH64, 4 bytes): a damaged body is refused, as gzip's CRC
    // refuses a damaged v1 body, instead of decoding to other values.
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    if (!cctx) throw Error(ErrorCode::kInternal, "zstd context");
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, o.level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    const size_t n = ZSTD_compress2(cctx, out.data(), out.size(), in.data(), in.size());
    ZSTD_freeCCtx(cctx);
    if (ZSTD_isError(n)) throw Error(ErrorCode::kInternal, "zstd compression failed");
    out.resize(n);
  } else {
    uLongf n = compressBound(static_cast<uLong>(in.size()));
    out.resize(n);
    if (compress2(reinterpret_cast<Bytef*>(out.data()), &n, in.data(),
                  static_cast<uLong>(in.size()), o.level) != Z_OK) {
      throw Error(ErrorCode::kInternal, "zlib compression failed");
    }
    out.resize(n);
  }
  return out;
}

}  // namespace

bool is_changeset_v2(std::string_view bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), kMagic, 4) == 0;
}

namespace v2_detail {

std::vector<uint8_t> payload_cbor(const Json& document) {
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
  return Json::to_cbor(payload);
}

}  // namespace v2_detail

std::string encode_changeset_v2(const Json& document, const V2EncodeOptions& options) {
  const std::vector<uint8_t> cbor = v2_detail::payload_cbor(document);
  if (cbor.size() > 0xFFFFFFFFu) throw Error(ErrorCode::kInvalidArgument, "v2 document too large");
  std::string out(kMagic, 4);
  out.push_back(static_cast<char>(options.compression));
  for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((cbor.size() >> (8 * b)) & 0xFF));
  out += compress(cbor, options);
  return out;
}

}  // namespace lumbung
