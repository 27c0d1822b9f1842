// CHANGE-SET FORMAT (version 1). Also documented in docs/PROTOCOL.md.
//
// A change set is one device's batch of ops, JSON, gzip on the wire:
//
//   {"device": "<device id>",
//    "ops": [ <op>, ... ]}            ops in strictly increasing seq order
//
// An op is one write of one record:
//
//   {"seq":  <uint, from 1, gap-free per device>,
//    "col":  "<collection>",
//    "id":   "<record id, UUID>",
//    "hlc":  <uint64 hybrid logical clock: ms since epoch << 16 | counter>,
//    "dev":  "<writing device>"       only where the op travels without its change set
//                                      (pull pages); in a change set the device is implied
//    "set":  {"<field>": <value>, ...} the fields written (null clears one); may be empty
//                                      when every field of a create was overwritten
//                                      before it was pushed (the op keeps seq gap-free)
//    "sv":   <uint >= 1>              the schema version the op was written under; absent =
//                                      1 (ops of clients older than schema versions)
//    "ret":  {"<field>": <value>}     pulled only: values of fields retired since the op
//                                      was written (history, not live fields)
//    "base": {"<field>": [<hlc>, "<device>"], ...}
//                                      the version of each field the writer had seen;
//                                      a field absent from base had no value when written;
//                                      "*": the record's delete the writer had seen (an
//                                      edit that knowingly revives a deleted record)
//   }
//
// A delete has "del": true instead of "set", and "base" lists every field of the record
// as the deleter had seen it, with its version: the server keeps any newer write the
// deleter had not seen in an update_delete entry. (Version-1 deletes carried
// "base": {"*": [<hlc>, "<device>"]}, one newest version; still accepted.) A version is always the
// pair [hlc, device], ordered by hlc then device.
//
// Pull pages also carry two kinds of op that only the server writes, when a record moves
// from one region to another (its scope field changes):
//   {"seq", "col", "id", "hlc", "dev": "server",
//    "rec": {"fields": {<field>: <value>}, "versions": {<field>: [hlc, dev]},
//            "tombstone": [hlc, dev] | null}}
//        the whole record, for devices of the region it moved into; applied as a join of
//        every field register and the tombstone (no conflicts: nobody wrote anything).
//        In a snapshot asked for with snapshot=2, "versions" may hold "*": the version of
//        every field it does not name (decoded here into one version per field)
//   {"seq", "col", "id", "hlc", "dev": "server", "gone": true}
//        the record moved out of the puller's regions: the device stops showing it and
//        refuses edits of it (it keeps the row while its own changes to it are unsent)
// and, to a device that asks for them (refusals=1), one it alone receives:
//   {"seq", "col", "id", "hlc", "dev": "server",
//    "refused": {"device", "seq", "code", "field", "message"}}
//        the server refused the device's op `seq` after acknowledging it as accepted
// A pushed change set may contain none of these.
//
// Decoding is strict: unknown members, wrong types, seq not increasing are kProtocol
// errors naming the member, so that a bad client is told precisely what it sent wrong.

#include "lumbung/changeset.h"

#include "lumbung/error.h"

namespace lumbung {
namespace {

[[noreturn]] void bad(const std::string& what) {
  throw Error(ErrorCode::kProtocol, "invalid change set: " + what);
}

uint64_t get_uint(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) bad(std::string("op member \"") + name + "\" is missing");
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
    bad(std::string("op member \"") + name + "\" must be a non-negative integer");
  }
  return it->get<uint64_t>();
}

const std::string& get_string(const Json& j, const char* name, size_t max_len) {
  auto it = j.find(name);
  if (it == j.end()) bad(std::string("member \"") + name + "\" is missing");
  if (!it->is_string()) bad(std::string("member \"") + name + "\" must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > max_len) {
    bad(std::string("member \"") + name + "\" must be 1.." + std::to_string(max_len) +
        " characters");
  }
  return s;
}

}  // namespace

std::string version_to_string(const Version& v) { return std::to_string(v.hlc) + "." + v.device; }

Json encode_version(const Version& v) { return Json::array({v.hlc, v.device}); }

Version decode_version(const Json& j) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_number_unsigned() || !j[1].is_string()) {
    bad("a version must be [hlc, \"device\"]");
  }
  Version v{j[0].get<uint64_t>(), j[1].get<std::string>()};
  if (v.hlc == 0 || v.device.empty() || v.device.size() > 64) bad("version out of range");
  return v;
}

Json encode_op(const Op& op, bool with_device) {
  Json j = Json::object();
  j["seq"] = op.seq;
  j["col"] = op.collection;
  j["id"] = op.id;
  j["hlc"] = op.version.hlc;
  if (with_device) j["dev"] = op.version.device;
  if (op.schema_version != 1) j["sv"] = op.schema_version;
  if (op.retired.is_object() && !op.retired.empty()) j["ret"] = op.retired;
  if (op.is_delete) {
    j["del"] = true;
  } else {
    j["set"] = op.set;
  }
  if (!op.base.empty()) {
    Json b = Json::object();
    for (const auto& [field, v] : op.base) b[field] = encode_version(v);
    j["base"] = std::move(b);
  }
  return j;
}

namespace {

// `take_set`: move the set out of `j` (only when J is non-const).
template <class J>
Op decode_op_impl(J& j, const std::string& default_device, bool take_set, bool pulled) {
  if (!j.is_object()) bad("an op must be an object");
  for (const auto& [key, _] : j.items()) {
    if (key != "seq" && key != "col" && key != "id" && key != "hlc" && key != "dev" &&
        key != "set" && key != "del" && key != "base" && key != "sv" &&
        !(pulled && (key == "rec" || key == "gone" || key == "ret" || key == "refused"))) {
      bad("unknown op member \"" + key + "\"");
    }
  }
  Op op;
  op.seq = get_uint(j, "seq");
  if (op.seq == 0) bad("seq starts at 1");
  op.collection = get_string(j, "col", 64);
  op.id = get_string(j, "id", 64);
  op.version.hlc = get_uint(j, "hlc");
  if (op.version.hlc == 0) bad("hlc must be positive");
  if (auto it = j.find("dev"); it != j.end()) {
    op.version.device = get_string(j, "dev", 64);
  } else {
    op.version.device = default_device;
  }
  if (op.version.device.empty()) bad("op has no device");
  if (j.contains("sv")) {
    const uint64_t sv = get_uint(j, "sv");
    if (sv == 0 || sv > 1000000) bad("\"sv\" must be a schema version from 1");
    op.schema_version = static_cast<int>(sv);
  }
  if (auto r = j.find("ret"); r != j.end()) {
    if (!r->is_object()) bad("\"ret\" must be an object");
    op.retired = *r;
  }
  auto del = j.find("del");
  auto set = j.find("set");
  if (pulled) {
    // The server's notices about region moves (see the format above).
    if (auto rec = j.find("rec"); rec != j.end()) {
      if (set != j.end() || del != j.end() || j.contains("gone")) bad("\"rec\" stands alone");
      if (!rec->is_object() || !rec->contains("fields") || !(*rec)["fields"].is_object() ||
          !rec->contains("versions") || !(*rec)["versions"].is_object()) {
        bad("\"rec\" must be {\"fields\": {...}, \"versions\": {...}, \"tombstone\": ...}");
      }
      op.record = *rec;
      // Compact form (snapshot=2): "*" is the version of every field not named on its own.
      Json& versions = op.record["versions"];
      if (auto star = versions.find("*"); star != versions.end()) {
        const Json shared = *star;
        decode_version(shared);  // throws kProtocol if it is no version
        versions.erase("*");
        for (const auto& [name, _] : op.record["fields"].items()) {
          if (!versions.contains(name)) versions[name] = shared;
        }
      }
      return op;
    }
    if (auto gone = j.find("gone"); gone != j.end()) {
      if (!gone->is_boolean() || !gone->template get<bool>() || set != j.end() || del != j.end()) {
        bad("\"gone\" must be true and stand alone");
      }
      op.gone = true;
      return op;
    }
    if (auto r = j.find("refused"); r != j.end()) {
      if (set != j.end() || del != j.end()) bad("\"refused\" stands alone");
      if (!r->is_object() || !r->contains("device") || !(*r)["device"].is_string() ||
          !r->contains("seq") || !(*r)["seq"].is_number_integer() ||
          (*r)["seq"].template get<int64_t>() <= 0 || !r->contains("code") ||
          !(*r)["code"].is_string()) {
        bad("\"refused\" must be {\"device\": ..., \"seq\": n, \"code\": ..., ...}");
      }
      for (const char* k : {"field", "message"}) {
        if (r->contains(k) && !(*r)[k].is_string())
          bad(std::string("\"refused\" ") + k + " must be a string");
      }
      op.refusal = *r;
      return op;
    }
  }
  if (del != j.end()) {
    if (!del->is_boolean() || !del->template get<bool>()) bad("\"del\" must be true when present");
    if (set != j.end()) bad("an op has either \"set\" or \"del\", not both");
    op.is_delete = true;
  } else {
    if (set == j.end() || !set->is_object()) bad("\"set\" must be an object");
    if (take_set) {
      op.set = std::move(*set);
    } else {
      op.set = *set;
    }
  }
  if (auto b = j.find("base"); b != j.end()) {
    if (!b->is_object()) bad("\"base\" must be an object");
    for (const auto& [field, v] : b->items()) {
      if (op.is_delete ? field.empty() || field.size() > 64
                       : field != "*" && !op.set.contains(field)) {
        bad("\"base\" names \"" + field.substr(0, 64) + "\" which the op does not write");
      }
      op.base.emplace(field, decode_version(v));
    }
  }
  return op;
}

template <class J>
ChangeSet decode_changeset_impl(J& j, bool take_sets) {
  if (!j.is_object()) bad("a change set must be an object");
  for (const auto& [key, _] : j.items()) {
    if (key != "device" && key != "ops") bad("unknown member \"" + key + "\"");
  }
  ChangeSet cs;
  cs.device = get_string(j, "device", 64);
  auto ops = j.find("ops");
  if (ops == j.end() || !ops->is_array()) bad("\"ops\" must be an array");
  cs.ops.reserve(ops->size());
  uint64_t prev = 0;
  for (auto& o : *ops) {
    Op op = decode_op_impl(o, cs.device, take_sets, /*pulled=*/false);
    if (op.seq <= prev)
      bad("ops must be in increasing seq order (seq " + std::to_string(op.seq) + ")");
    prev = op.seq;
    cs.ops.push_back(std::move(op));
  }
  return cs;
}

std::string quote(const std::string& s) { return Json(s).dump(); }

}  // namespace

Op decode_op(const Json& j, const std::string& default_device) {
  return decode_op_impl(j, default_device, false, /*pulled=*/true);
}
Op decode_op(Json&& j, const std::string& default_device) {
  return decode_op_impl(j, default_device, true, /*pulled=*/true);
}
ChangeSet decode_changeset(const Json& j) { return decode_changeset_impl(j, false); }
ChangeSet decode_changeset(Json&& j) { return decode_changeset_impl(j, true); }

std::string encode_op_text(const Op& op, bool with_device, std::string_view set_text) {
  std::string t;
  t.reserve(set_text.size() + 160);
  t += "{\"seq\":" + std::to_string(op.seq) + ",\"col\":" + quote(op.collection) +
       ",\"id\":" + quote(op.id) + ",\"hlc\":" + std::to_string(op.version.hlc);
  if (with_device) t += ",\"dev\":" + quote(op.version.device);
  if (op.schema_version != 1) t += ",\"sv\":" + std::to_string(op.schema_version);
  if (op.retired.is_object() && !op.retired.empty()) t += ",\"ret\":" + op.retired.dump();
  if (op.is_delete) {
    t += ",\"del\":true";
  } else {
    t += ",\"set\":";
    t.append(set_text);
  }
  if (!op.base.empty()) {
    t += ",\"base\":{";
    bool first = true;
    for (const auto& [f, v] : op.base) {
      if (!first) t += ',';
      first = false;
      t += quote(f) + ":[" + std::to_string(v.hlc) + "," + quote(v.device) + "]";
    }
    t += '}';
  }
  t += '}';
  return t;
}

Json encode_changeset(const ChangeSet& cs) {
  Json ops = Json::array();
  for (const auto& op : cs.ops) ops.push_back(encode_op(op, op.version.device != cs.device));
  return Json{{"device", cs.device}, {"ops", std::move(ops)}};
}

}  // namespace lumbung
