// The simulation oracle's check at the end of a run: every acknowledged write is accounted
// for on every replica (see oracle.h for exactly what it checks); the recording is in
// oracle.cpp.
#include <algorithm>

#include "lumbung/changeset.h"
#include "sim/oracle.h"
#include "sim/oracle_json.h"

namespace lumbung::sim {

// --- the check

struct Oracle::Context {
  std::map<Version, size_t> by_version;
  std::map<Version, size_t> by_former_version;  // versions writes carried before a re-stamp
  std::vector<WriteSet> past;                   // transitive causal past of each write's writer
  std::map<std::string, std::vector<size_t>> by_record;
  std::map<std::string, std::vector<const Json*>> conflicts_by_record;

  std::optional<size_t> writer(const Version& v) const {
    auto it = by_version.find(v);
    if (it == by_version.end()) return std::nullopt;
    return it->second;
  }
  // Also by a version the write carried before a re-stamp: what a writer was shown.
  std::optional<size_t> shown_writer(const Version& v) const {
    if (auto w = writer(v)) return w;
    auto it = by_former_version.find(v);
    if (it == by_former_version.end()) return std::nullopt;
    return it->second;
  }
};

// True if `writer` (the write that made a state) had seen `w`, or a write of the same value
// to the same field at w's version or newer (which replaced w without loss).
bool Oracle::informed(const Context& cx, std::optional<size_t> writer, size_t w,
                      const std::string& field) const {
  if (!writer) return false;
  const WriteSet& past = cx.past[*writer];
  if (past.contains(w)) return true;
  const Write& ww = writes_[w];
  for (size_t e : cx.by_record.at(ww.record)) {
    const Write& we = writes_[e];
    if (we.is_delete || !we.set.contains(field) || we.set[field] != ww.set[field]) continue;
    if (we.version() >= ww.version() && past.contains(e)) return true;
  }
  return false;
}

// True if `writer` had seen the delete `w` or a newer delete of the same record.
bool Oracle::informed_of_delete(const Context& cx, std::optional<size_t> writer, size_t w) const {
  if (!writer) return false;
  const WriteSet& past = cx.past[*writer];
  if (past.contains(w)) return true;
  for (size_t e : cx.by_record.at(writes_[w].record)) {
    if (writes_[e].is_delete && writes_[e].version() >= writes_[w].version() && past.contains(e))
      return true;
  }
  return false;
}

// A conflict entry (open or resolved) keeps w's value of `field` at w's version or newer.
bool Oracle::entry_keeps(const Context& cx, size_t w, const std::string& field) const {
  const Write& ww = writes_[w];
  auto it = cx.conflicts_by_record.find(ww.record);
  if (it == cx.conflicts_by_record.end()) return false;
  for (const Json* c : it->second) {
    const std::string f = canonical(str_member(*c, "field"));  // an entry of an older version
    // A version-1 update_delete entry names no field and keeps one edited value.
    const bool whole_record = f.empty() && str_member(*c, "kind") == "update_delete";
    if (f != field && !whole_record) continue;
    for (const char* side : {"winner", "loser"}) {
      const Json& s = c->at(side);
      const Version v = decode_version(s.at("version"));
      if (whole_record) {
        const auto by = cx.writer(v);
        if (by && writes_[*by].is_delete) continue;  // the delete side keeps no value
      }
      if (v >= ww.version() && s.at("value") == ww.set[field]) return true;
    }
  }
  return false;
}

// An update_delete entry keeps a delete of w's record at w's version or newer.
bool Oracle::entry_keeps_delete(const Context& cx, size_t w) const {
  const Write& ww = writes_[w];
  auto it = cx.conflicts_by_record.find(ww.record);
  if (it == cx.conflicts_by_record.end()) return false;
  for (const Json* c : it->second) {
    if (str_member(*c, "kind") != "update_delete") continue;
    for (const char* side : {"winner", "loser"}) {
      const Version v = decode_version(c->at(side).at("version"));
      const auto by = cx.writer(v);
      if (by && writes_[*by].is_delete && writes_[*by].record == ww.record && v >= ww.version())
        return true;
    }
  }
  return false;
}

// A refused op is kept when the server's refused queue lists it (GET /v1/refused entries:
// {"device_id", "seq", "op", "code", "status", ...}; any status: applied and dismissed
// entries were decided by a reviewer who saw them). `refused` is null from a server without
// the queue, and a refused op then counts as lost.
bool Oracle::refused_kept(size_t w, const Json& refused) const {
  if (!refused.is_array()) return false;
  const Write& ww = writes_[w];
  for (const Json& r : refused) {
    std::string dev = str_member(r, "device");
    if (dev.empty()) dev = str_member(r, "device_id");
    if (dev == ww.key.first && uint_member(r, "seq") == ww.key.second) return true;
  }
  return false;
}

// True if the read-back create rule explains `now` at w's own version: a create is read
// back from the record when pushed, so its op may carry the value of the same device's later
// edit at the create's version (store.cpp, changes table); that edit had seen the create.
bool Oracle::read_back(const Context& cx, size_t w, const std::string& field,
                       const Json& now) const {
  const Write& ww = writes_[w];
  const auto& on_record = cx.by_record.at(ww.record);
  return std::any_of(on_record.begin(), on_record.end(), [&](size_t e) {
    const Write& we = writes_[e];
    return we.key.first == ww.key.first && we.key.second > ww.key.second && !we.is_delete &&
           we.set.contains(field) && we.set[field] == now;
  });
}

// Write w of `field` is accounted for in record r (see oracle.h): visible, replaced or
// buried by a writer that had seen it, kept in an entry, or replaced by a write x of the
// same field (or deleted by a delete x) whose writer had seen w and which is itself
// accounted for (w -> x is an ordinary overwrite; whether x then survived is x's question).
bool Oracle::field_accounted(const Context& cx, size_t w, const std::string& field,
                             const RecordView& r, std::set<size_t>& visiting) const {
  if (!visiting.insert(w).second) return false;
  const Write& ww = writes_[w];
  const Json& value = ww.set[field];
  auto vit = r.versions.find(field);
  if (vit == r.versions.end()) return false;
  const Version& cur = vit->second;
  auto fit = r.fields.find(field);
  const Json now = fit == r.fields.end() ? Json() : *fit;
  if (cur == ww.version() && now != value && read_back(cx, w, field, now)) return true;
  if (now == value && cur >= ww.version()) {
    if (!r.deleted) return true;
    if (informed(cx, cx.writer(r.tombstone), w, field)) return true;
  } else if (informed(cx, cx.writer(cur), w, field)) {
    return true;
  }
  if (entry_keeps(cx, w, field)) return true;
  for (size_t x : cx.by_record.at(ww.record)) {
    const Write& wx = writes_[x];
    // x had seen w, or the same value of the field at a newer version (one write).
    if (x == w || !wx.acked || wx.refused || !informed(cx, x, w, field)) continue;
    if (wx.is_delete ? delete_accounted(cx, x, r, visiting)
                     : wx.set.contains(field) && field_accounted(cx, x, field, r, visiting))
      return true;
  }
  return false;
}

void Oracle::check_field(const Context& cx, size_t w, const std::string& field, const RecordView& r,
                         const std::string& where, std::vector<std::string>& out) const {
  const Write& ww = writes_[w];
  const Json& value = ww.set[field];
  const FieldDef* def = schema_.field(field);
  const bool forward_only = def && def->policy == MergePolicy::kForwardOnly;
  auto vit = r.versions.find(field);
  if (vit == r.versions.end()) {
    out.push_back("field " + field + " of " + ww.record + " has no version on " + where +
                  " although " + describe(w) + " set it");
    return;
  }
  const Version& cur = vit->second;
  auto fit = r.fields.find(field);
  const Json now = fit == r.fields.end() ? Json() : *fit;
  if (cur == ww.version() && now != value && !read_back(cx, w, field, now)) {
    out.push_back("field " + field + " of " + ww.record + " on " + where + " is " + now.dump() +
                  " at the version of " + describe(w) + ", which set " + value.dump());
    return;
  }
  if (!forward_only && cur < ww.version()) {
    out.push_back("field " + field + " of " + ww.record + " went back to an older version on " +
                  where + ": " + version_to_string(cur) + " < " + describe(w));
    return;
  }
  std::set<size_t> visiting;
  if (field_accounted(cx, w, field, r, visiting)) return;
  // Lost: say who replaced or buried it, for the report.
  std::string cause, by;
  if (now == value && cur >= ww.version()) {
    const auto d = cx.writer(r.tombstone);
    cause = d && writes_[*d].key.first == "server" ? writes_[*d].why : "delete";
    by = "the record is deleted by " + (d ? describe(*d) : version_to_string(r.tombstone));
  } else {
    // Who lost it (for the report; the oracle does not know the order writes reached the
    // server): a reviewer's or merge's write that replaced w's value without having seen it,
    // else the current writer, else the oldest other write that replaced it unseen.
    std::optional<size_t> x = cx.writer(cur), oldest, by_server;
    for (size_t e : cx.by_record.at(ww.record)) {
      const Write& we = writes_[e];
      if (we.is_delete || !we.set.contains(field) || we.set[field] == value || !we.acked ||
          we.version() <= ww.version() || cx.past[e].contains(w))
        continue;
      if (!oldest || we.version() < writes_[*oldest].version()) oldest = e;
      if (we.key.first == "server" && (!by_server || we.version() < writes_[*by_server].version()))
        by_server = e;
    }
    if (by_server) {
      x = by_server;
    } else if ((!x || cx.past[*x].contains(w)) && oldest) {
      x = oldest;
    }
    if (x && writes_[*x].key.first == "server") {
      cause = writes_[*x].why;
    } else if (forward_only) {
      cause = "forward_only";
    } else {
      cause = "overwrite";
    }
    by = "now " + now.dump() + " at " + version_to_string(cur) + "; replaced by " +
         (x ? describe(*x) : std::string("an unknown write"));
  }
  out.push_back("lost [" + cause + "] on " + where + ": " + describe(w) + " set " + field + " = " +
                value.dump() + " on " + ww.record + "; " + by +
                ", whose writer had not seen it, and no conflict entry keeps it");
}

// Delete w is accounted for in record r: the record is deleted (at w's version or newer), or
// live again through a writer that had seen w, or an update_delete entry keeps the delete, or
// a later delete whose writer had seen w (a reviewer keeping it) is accounted for.
bool Oracle::delete_accounted(const Context& cx, size_t w, const RecordView& r,
                              std::set<size_t>& visiting) const {
  if (!visiting.insert(w).second) return false;
  if (r.deleted && r.tombstone >= writes_[w].version()) return true;
  for (const auto& [f, v] : r.versions) {
    if (v > r.tombstone && informed_of_delete(cx, cx.writer(v), w)) return true;
  }
  if (entry_keeps_delete(cx, w)) return true;
  for (size_t x : cx.by_record.at(writes_[w].record)) {
    if (x == w || !writes_[x].is_delete || !writes_[x].acked || writes_[x].refused) continue;
    if (cx.past[x].contains(w) && delete_accounted(cx, x, r, visiting)) return true;
  }
  return false;
}

void Oracle::check_delete(const Context& cx, size_t w, const RecordView& r,
                          const std::string& where, std::vector<std::string>& out) const {
  const Write& ww = writes_[w];
  if (r.tombstone < ww.version()) {
    out.push_back("record " + ww.record + " on " + where + " has a tombstone older than " +
                  describe(w));
    return;
  }
  std::set<size_t> visiting;
  if (delete_accounted(cx, w, r, visiting)) return;
  std::string revivers, cause;
  for (const auto& [f, v] : r.versions) {
    if (!(v > r.tombstone)) continue;
    const auto x = cx.writer(v);
    if (cause.empty()) cause = x && writes_[*x].key.first == "server" ? writes_[*x].why : "edit";
    revivers += " " + f + " by " + (x ? describe(*x) : version_to_string(v)) + ";";
  }
  out.push_back("lost [delete undone by " + cause + "] on " + where + ": " + describe(w) + " of " +
                ww.record + " is undone by writers that had not seen it:" + revivers +
                " and no update_delete entry keeps the delete");
}

void Oracle::check_state(const Context& cx, const std::string& where, const StateView& state,
                         const std::set<std::string>& outside,
                         std::vector<std::string>& out) const {
  // Every version a replica holds is one the oracle recorded, on that record.
  for (const auto& [id, r] : state) {
    auto known = [&, &id = id](const Version& v, const std::string& what, bool want_delete) {
      const auto i = cx.writer(v);
      if (!i) {
        out.push_back(what + " of " + id + " on " + where + " is at " + version_to_string(v) +
                      ", a version no recorded write carries");
      } else if (writes_[*i].record != id || writes_[*i].is_delete != want_delete) {
        out.push_back(what + " of " + id + " on " + where + " is at the version of " +
                      describe(*i) + " on " + writes_[*i].record);
      }
    };
    for (const auto& [f, v] : r.versions) known(v, "field " + f, false);
    if (!r.tombstone.empty()) known(r.tombstone, "the tombstone", true);
  }
  for (size_t i = 0; i < writes_.size(); ++i) {
    const Write& w = writes_[i];
    if (!w.acked || w.refused || outside.count(w.record)) continue;
    auto rit = state.find(w.record);
    if (rit == state.end()) {
      out.push_back("record " + w.record + " of " + describe(i) + " is missing on " + where);
      continue;
    }
    if (w.is_delete) {
      check_delete(cx, i, rit->second, where, out);
    } else {
      for (const auto& [f, _] : w.set.items()) check_field(cx, i, f, rit->second, where, out);
    }
  }
}

std::vector<std::string> Oracle::check(const StateView& server,
                                       const std::vector<std::string>& names,
                                       const std::vector<StateView>& replicas,
                                       const Json& conflicts, const Json& refused,
                                       const std::vector<std::set<std::string>>& outside) {
  std::vector<std::string> out = notes_;
  Context cx;
  for (size_t i = 0; i < writes_.size(); ++i) {
    Write& w = writes_[i];
    if (w.lost_in_restore) {  // known by its version (a replica may still show it), no more
      w.acked = false;
      cx.by_version.emplace(w.version(), i);
      continue;
    }
    if (w.key.first != "server") w.acked = w.key.second <= devices_[w.key.first].acked;
    cx.by_record[w.record].push_back(i);
    if (w.hlc == 0) {
      out.push_back(describe(i) + " on " + w.record + " never travelled (no push carried it)");
      continue;
    }
    if (!w.acked) out.push_back(describe(i) + " on " + w.record + " was never acknowledged");
    // Refused before a restore and, in the new history, refused again by a copy whose
    // answer nobody heard (a delayed request): the device knew the refusal already, and the
    // refused queue keeps it (tests/sim --restores seed 56617).
    if (!w.refused && w.refused_before_restore && refused_kept(i, refused)) {
      w.refused = w.refused_before_restore;
    }
    if (w.refused && !refused_kept(i, refused)) {
      out.push_back("lost [refused] " + describe(i) + " on " + w.record + ": refused (" +
                    w.refused->dump() + ") and not in the server's refused queue");
    }
    auto [it, fresh] = cx.by_version.emplace(w.version(), i);
    if (!fresh) out.push_back(describe(i) + " and " + describe(it->second) + " share a version");
  }
  for (size_t i = 0; i < writes_.size(); ++i) {
    for (uint64_t h : writes_[i].former_hlcs)
      cx.by_former_version.emplace(Version{h, writes_[i].key.first}, i);
  }
  // Causal pasts, closed: a writer saw what the writers it saw had seen. Every write's
  // direct past is older than itself, so one pass in order suffices.
  cx.past.resize(writes_.size());
  for (size_t i = 0; i < writes_.size(); ++i) {
    WriteSet direct = writes_[i].direct;
    for (const Version& v : writes_[i].shown) {
      if (const auto j = cx.shown_writer(v)) {
        direct.insert(*j);
      } else {
        out.push_back("the writer of " + describe(i) + " was shown " + version_to_string(v) +
                      ", a version no recorded write carries");
      }
    }
    WriteSet& past = cx.past[i];
    direct.for_each([&](size_t j) {
      past.insert(j);
      if (j < i) past.add_all(cx.past[j]);
    });
  }
  if (conflicts.is_array()) {
    for (const Json& c : conflicts)
      cx.conflicts_by_record[str_member(c, "record_id")].push_back(&c);
  }

  // A replica's findings are reported only where they differ from the server's (a replica
  // equal to the server repeats them word for word but for its name).
  auto generic = [](std::string s, const std::string& where) {
    for (size_t p; (p = s.find(where)) != std::string::npos;) s.replace(p, where.size(), "@");
    return s;
  };
  const std::string server_where = "the server";
  std::vector<std::string> on_server;
  check_state(cx, server_where, server, {}, on_server);
  std::set<std::string> seen;
  for (const auto& s : on_server) seen.insert(generic(s, server_where));
  out.insert(out.end(), on_server.begin(), on_server.end());
  for (size_t d = 0; d < replicas.size(); ++d) {
    const std::string where = "replica " + names[d];
    std::vector<std::string> mine;
    check_state(cx, where, replicas[d], d < outside.size() ? outside[d] : std::set<std::string>(),
                mine);
    for (const auto& s : mine) {
      if (!seen.count(generic(s, where))) out.push_back(s);
    }
  }
  return out;
}

}  // namespace lumbung::sim
