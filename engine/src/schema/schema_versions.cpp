// Schema versions: changelog parsing, the successor check, and op/record upgrades
// (format in lumbung/schema_versions.h and docs/ARCHITECTURE.md "Schema versions").
#include "lumbung/schema_versions.h"

#include <set>

#include "lumbung/error.h"

namespace lumbung {
namespace {

using Kind = SchemaStep::Kind;

[[noreturn]] void bad(const std::string& what) {
  throw Error(ErrorCode::kSchemaInvalid, "invalid schema changelog: " + what);
}

std::string str_member(const Json& j, const char* name, const std::string& at) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string() || it->get<std::string>().empty()) {
    bad(at + ": \"" + name + "\" must be a non-empty string");
  }
  return it->get<std::string>();
}

SchemaStep parse_step(const Json& j, const std::string& at) {
  if (!j.is_object()) bad(at + ": a step must be an object");
  static const std::map<std::string, Kind> kinds = {
      {"add_field", Kind::kAddField},   {"add_enum_value", Kind::kAddEnumValue},
      {"tighten_rule", Kind::kTighten}, {"loosen_rule", Kind::kLoosen},
      {"rename_field", Kind::kRename},  {"retire_field", Kind::kRetire}};
  const std::string op = str_member(j, "op", at);
  auto k = kinds.find(op);
  if (k == kinds.end()) {
    bad(at + ": unknown op \"" + op +
        "\" (known: add_field, add_enum_value, tighten_rule, loosen_rule, rename_field, "
        "retire_field)");
  }
  SchemaStep s;
  s.kind = k->second;
  s.collection = str_member(j, "collection", at);
  std::set<std::string> allowed = {"op", "collection", "note"};
  if (s.kind == Kind::kRename) {
    s.field = str_member(j, "from", at);
    s.to = str_member(j, "to", at);
    allowed.insert({"from", "to"});
  } else {
    s.field = str_member(j, "field", at);
    allowed.insert("field");
  }
  if (s.kind == Kind::kAddEnumValue) {
    auto v = j.find("value");
    if (v == j.end() || !v->is_string()) bad(at + ": \"value\" must be a string");
    s.value = *v;
    allowed.insert("value");
  }
  if (s.kind == Kind::kAddField) {
    if (auto d = j.find("default"); d != j.end()) s.value = *d;
    allowed.insert("default");
  }
  for (const auto& [key, _] : j.items()) {
    if (!allowed.count(key)) bad(at + ": unknown member \"" + key + "\" for " + op);
  }
  return s;
}

const Json* field_doc(const Json& document, const std::string& col, const std::string& field) {
  for (const auto& c : document.at("collections")) {
    if (c.value("name", "") != col) continue;
    for (const auto& f : c.at("fields")) {
      if (f.value("name", "") == field) return &f;
    }
  }
  return nullptr;
}

// The rule members whose change is neither tightening nor loosening in one direction:
// any change of them needs a tighten_rule or loosen_rule step.
Json residual_rules(const Json& f) {
  Json r = f;
  for (const char* k : {"name", "label", "description", "personal", "policy", "required",
                        "max_length", "min", "max", "values", "type"}) {
    r.erase(k);
  }
  return r;
}

std::optional<int64_t> opt_int(const Json& f, const char* k) {
  auto it = f.find(k);
  if (it == f.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

struct RuleChange {
  bool tighter = false, looser = false;
  std::vector<std::string> added_values, removed_values;
};

RuleChange compare_rules(const Json& a, const Json& b) {
  RuleChange c;
  const bool ra = a.value("required", false), rb = b.value("required", false);
  if (rb && !ra) c.tighter = true;
  if (ra && !rb) c.looser = true;
  auto bound = [&](const char* k, bool upper) {
    const auto x = opt_int(a, k), y = opt_int(b, k);
    if (x == y) return;
    if (!x) {
      c.tighter = true;
    } else if (!y) {
      c.looser = true;
    } else if (upper ? *y < *x : *y > *x) {
      c.tighter = true;
    } else {
      c.looser = true;
    }
  };
  bound("max_length", true);
  bound("max", true);
  bound("min", false);
  std::set<std::string> va, vb;
  for (const auto& v : a.value("values", Json::array())) va.insert(v.dump());
  for (const auto& v : b.value("values", Json::array())) vb.insert(v.dump());
  for (const auto& v : vb) {
    if (!va.count(v)) c.added_values.push_back(Json::parse(v).get<std::string>());
  }
  for (const auto& v : va) {
    if (!vb.count(v)) c.removed_values.push_back(Json::parse(v).get<std::string>());
  }
  if (!c.removed_values.empty()) c.tighter = true;
  if (residual_rules(a) != residual_rules(b)) c.tighter = c.looser = true;
  return c;
}

Json changelog_upto(const Json& document, int version) {
  Json out = Json::array();
  if (auto it = document.find("changelog"); it != document.end() && it->is_array()) {
    for (const auto& e : *it) {
      if (e.is_object() && e.value("version", 0) <= version) out.push_back(e);
    }
  }
  return out;
}

}  // namespace

std::map<int, std::vector<SchemaStep>> parse_changelog(const Json& document) {
  std::map<int, std::vector<SchemaStep>> out;
  const int version = document.value("version", 0);
  auto it = document.find("changelog");
  if (it == document.end()) {
    if (version > 1) bad("version " + std::to_string(version) + " has no \"changelog\"");
    return out;
  }
  if (!it->is_array()) bad("\"changelog\" must be an array");
  if (static_cast<int>(it->size()) != version - 1) {
    bad("version " + std::to_string(version) + " needs one entry per version 2.." +
        std::to_string(version) + ", found " + std::to_string(it->size()));
  }
  int expect = 2;
  for (const auto& e : *it) {
    const std::string at = "changelog entry for version " + std::to_string(expect);
    if (!e.is_object() || !e.contains("version") || !e["version"].is_number_integer() ||
        e["version"].get<int64_t>() != expect) {
      bad("entries must be {\"version\": 2, ...}, {\"version\": 3, ...} in order; expected "
          "version " +
          std::to_string(expect));
    }
    for (const auto& [key, _] : e.items()) {
      if (key != "version" && key != "steps" && key != "note") {
        bad(at + ": unknown member \"" + key + "\"");
      }
    }
    auto steps = e.find("steps");
    if (steps == e.end() || !steps->is_array() || steps->empty()) {
      bad(at + ": \"steps\" must be a non-empty array");
    }
    auto& v = out[expect];
    for (size_t i = 0; i < steps->size(); ++i) {
      v.push_back(parse_step((*steps)[i], at + " step " + std::to_string(i + 1)));
    }
    ++expect;
  }
  return out;
}

void check_successor(const Json& prev, const Json& next) {
  const auto ps = Schema::parse(prev);
  const auto ns = Schema::parse(next);
  parse_changelog(prev);
  const auto log = parse_changelog(next);
  std::vector<std::string> problems;
  auto problem = [&](std::string p) { problems.push_back(std::move(p)); };
  if (ns->name() != ps->name()) {
    problem("the schema is \"" + ns->name() + "\", the server's is \"" + ps->name() + "\"");
  }
  if (ns->version() != ps->version() + 1) {
    throw Error(ErrorCode::kSchemaInvalid,
                "version " + std::to_string(ns->version()) + " cannot follow version " +
                    std::to_string(ps->version()) + ": the next version is " +
                    std::to_string(ps->version() + 1));
  }
  if (changelog_upto(next, ps->version()) != changelog_upto(prev, ps->version())) {
    problem("the changelog of versions 2.." + std::to_string(ps->version()) +
            " differs from the published one (history cannot be rewritten)");
  }
  const std::vector<SchemaStep>& steps = log.at(ns->version());
  // Names that left a collection earlier are never given again: an op that does not say
  // its version is read as version 1, and must not be mistaken for the newer field.
  std::set<std::pair<std::string, std::string>> former;
  for (const auto& [v, earlier] : log) {
    if (v >= ns->version()) break;
    for (const auto& s : earlier) {
      if (s.kind == Kind::kRename || s.kind == Kind::kRetire)
        former.insert({s.collection, s.field});
    }
  }
  for (const auto& s : steps) {
    const std::string& given = s.kind == Kind::kRename ? s.to : s.field;
    if ((s.kind == Kind::kRename || s.kind == Kind::kAddField) &&
        former.count({s.collection, given})) {
      problem(s.collection + "." + given +
              " was renamed or retired before: names are never reused");
    }
  }
  for (const auto& pc : ps->collections()) {
    if (!ns->collection(pc.name())) problem("collection \"" + pc.name() + "\" was removed");
  }
  for (const auto& nc : ns->collections()) {
    const CollectionSchema* pc = ps->collection(nc.name());
    if (!pc) {
      problem("collection \"" + nc.name() + "\" is new: adding collections is not supported");
      continue;
    }
    if (pc->scope_field() != nc.scope_field()) problem(nc.name() + ": scope_field changed");
    if (pc->natural_key() != nc.natural_key()) problem(nc.name() + ": natural_key changed");
    // Walk the steps over the old field names to get the expected new names.
    std::map<std::string, std::string> now;  // new name -> old name ("" = added)
    for (const auto& f : pc->fields()) now[f.name] = f.name;
    std::set<std::string> tighten, loosen;
    std::map<std::string, std::set<std::string>> enum_added;
    for (const auto& s : steps) {
      if (s.collection != nc.name()) {
        if (!ns->collection(s.collection))
          problem("a step names unknown collection \"" + s.collection + "\"");
        continue;
      }
      const std::string& f = s.field;
      switch (s.kind) {
        case Kind::kAddField:
          if (now.count(f))
            problem(f + ": add_field of a field that exists");
          else if (!nc.field(f))
            problem(f + ": add_field but the new version has no such field");
          else
            now[f] = "";
          if (!s.value.is_null() && nc.field(f)) {
            Json probe = Json::object({{f, s.value}});
            if (!nc.normalize_and_validate(probe, true).empty()) {
              problem(f + ": the default " + s.value.dump() + " is not a valid value");
            }
          }
          break;
        case Kind::kRename:
          if (!now.count(f))
            problem("rename_field from \"" + f + "\" which is not a field");
          else if (now.count(s.to))
            problem("rename_field onto \"" + s.to + "\" which exists");
          else if (!nc.field(s.to))
            problem("rename_field to \"" + s.to + "\" but the new version has no such field");
          else {
            now[s.to] = now[f];
            now.erase(f);
          }
          break;
        case Kind::kRetire:
          if (!now.count(f))
            problem("retire_field \"" + f + "\" which is not a field");
          else if (nc.field(f))
            problem("retire_field \"" + f + "\" but the new version still has it");
          else if (f == nc.scope_field() || f == nc.natural_key())
            problem(f + ": the scope field and natural key cannot be retired");
          else
            now.erase(f);
          break;
        case Kind::kAddEnumValue:
          enum_added[f].insert(s.value.get<std::string>());
          break;
        case Kind::kTighten:
          tighten.insert(f);
          break;
        case Kind::kLoosen:
          loosen.insert(f);
          break;
      }
    }
    for (const auto& f : nc.fields()) {
      if (!now.count(f.name)) {
        problem(nc.name() + "." + f.name + " is new but no add_field or rename_field step says so");
      }
    }
    for (const auto& [name, old] : now) {
      if (!nc.field(name)) {
        problem(nc.name() + "." + name +
                " is gone but no retire_field or rename_field step says so");
        continue;
      }
      if (old.empty()) continue;  // added
      const Json* a = field_doc(prev, nc.name(), old);
      const Json* b = field_doc(next, nc.name(), name);
      if (a->value("type", "") != b->value("type", "")) {
        problem(nc.name() + "." + name + ": type " + a->value("type", "") + " -> " +
                b->value("type", "") + " cannot be mapped (add a new field instead)");
        continue;
      }
      const RuleChange c = compare_rules(*a, *b);
      std::set<std::string> said = enum_added[name];
      for (const auto& v : c.added_values) {
        if (!said.erase(v))
          problem(nc.name() + "." + name + ": value \"" + v +
                  "\" is new but no add_enum_value step says so");
      }
      for (const auto& v : said)
        problem(nc.name() + "." + name + ": add_enum_value \"" + v + "\" but the value is not new");
      if (c.tighter && !tighten.count(name))
        problem(nc.name() + "." + name +
                ": its rules are tighter but no tighten_rule step says so");
      if (c.looser && !loosen.count(name) && !(c.tighter && tighten.count(name)))
        problem(nc.name() + "." + name + ": its rules are looser but no loosen_rule step says so");
      if (!c.tighter && tighten.count(name))
        problem(nc.name() + "." + name + ": tighten_rule but no rule is tighter");
      if (!c.looser && loosen.count(name))
        problem(nc.name() + "." + name + ": loosen_rule but no rule is looser");
    }
  }
  if (!problems.empty()) {
    std::string msg = "version " + std::to_string(ns->version()) +
                      " is not a valid successor of version " + std::to_string(ps->version()) + ":";
    for (const auto& p : problems) msg += "\n  - " + p;
    throw Error(ErrorCode::kSchemaInvalid, msg);
  }
}

SchemaHistory::SchemaHistory(std::vector<Json> documents) : documents_(std::move(documents)) {
  if (documents_.empty()) throw Error(ErrorCode::kSchemaInvalid, "no schema document");
  for (size_t i = 1; i < documents_.size(); ++i) check_successor(documents_[i - 1], documents_[i]);
  for (const auto& d : documents_) schemas_.push_back(Schema::parse(d));
  current_ = schemas_.back();
  steps_ = parse_changelog(documents_.back());
}

const Json* SchemaHistory::document(int version) const {
  for (const auto& d : documents_) {
    if (d.value("version", 0) == version) return &d;
  }
  return nullptr;
}

std::shared_ptr<const Schema> SchemaHistory::schema_at(int version) const {
  for (const auto& s : schemas_) {
    if (s->version() == version) return s;
  }
  return nullptr;
}

std::string SchemaHistory::current_name(const std::string& collection, const std::string& name,
                                        int from_version) const {
  return name_after_steps(steps_, collection, name, from_version);
}

std::string name_after_steps(const std::map<int, std::vector<SchemaStep>>& steps,
                             const std::string& collection, const std::string& name,
                             int from_version) {
  std::string n = name;
  for (auto it = steps.upper_bound(from_version); it != steps.end() && !n.empty(); ++it) {
    for (const auto& s : it->second) {
      if (s.collection != collection || s.field != n) continue;
      if (s.kind == Kind::kRename) n = s.to;
      if (s.kind == Kind::kRetire) n.clear();
      if (n.empty()) break;
    }
  }
  return n;
}

Json SchemaHistory::upgrade_fields(const std::string& collection, Json& fields,
                                   int from_version) const {
  Json retired = Json::object();
  if (from_version >= current_version() || !fields.is_object()) return retired;
  Json out = Json::object();
  for (auto& [k, v] : fields.items()) {
    const std::string n = current_name(collection, k, from_version);
    if (n.empty()) {
      retired[k] = std::move(v);
    } else {
      out[n] = std::move(v);
    }
  }
  fields = std::move(out);
  return retired;
}

OpUpgrade SchemaHistory::upgrade_op(Op& op) const {
  OpUpgrade up;
  if (op.schema_version < 1 || op.schema_version > current_version()) {
    throw Error(ErrorCode::kInvalidArgument,
                "op seq " + std::to_string(op.seq) + " says schema version " +
                    std::to_string(op.schema_version) + "; this server knows 1.." +
                    std::to_string(current_version()));
  }
  if (op.schema_version == current_version()) return up;
  const bool create = !op.is_delete && op.base.empty();
  for (auto it = steps_.upper_bound(op.schema_version); it != steps_.end(); ++it) {
    for (const auto& s : it->second) {
      if (s.collection != op.collection) continue;
      if (s.kind == Kind::kRename) {
        if (auto f = op.set.find(s.field); f != op.set.end()) {
          op.set[s.to] = std::move(*f);
          op.set.erase(s.field);
          up.renamed.push_back(s.field + "->" + s.to);
        }
        if (auto b = op.base.find(s.field); b != op.base.end()) {
          op.base[s.to] = b->second;
          op.base.erase(s.field);
        }
      } else if (s.kind == Kind::kRetire) {
        if (auto f = op.set.find(s.field); f != op.set.end()) {
          up.retired[s.field] = std::move(*f);
          op.set.erase(s.field);
        }
        op.base.erase(s.field);
      } else if (s.kind == Kind::kAddField && create && !s.value.is_null() &&
                 !op.set.contains(s.field)) {
        op.set[s.field] = s.value;
        up.defaults.push_back(s.field);
      }
    }
  }
  if (!up.retired.empty()) {
    if (!op.retired.is_object()) op.retired = Json::object();
    op.retired.update(up.retired);
  }
  op.schema_version = current_version();
  return up;
}

}  // namespace lumbung
