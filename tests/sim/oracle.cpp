// The simulation's oracle (see oracle.h for exactly what it records and checks).
#include "sim/oracle.h"

#include <algorithm>

#include "lumbung/changeset.h"
#include "sim/oracle_json.h"

namespace lumbung::sim {

void WriteSet::insert(size_t i) {
  if (i / 64 >= words_.size()) words_.resize(i / 64 + 1, 0);
  words_[i / 64] |= uint64_t{1} << (i % 64);
}

bool WriteSet::contains(size_t i) const {
  return i / 64 < words_.size() && (words_[i / 64] >> (i % 64)) & 1;
}

void WriteSet::add_all(const WriteSet& other) {
  if (other.words_.size() > words_.size()) words_.resize(other.words_.size(), 0);
  for (size_t w = 0; w < other.words_.size(); ++w) words_[w] |= other.words_[w];
}

namespace {

std::string key_text(const std::string& device, uint64_t seq) {
  return "(" + device + ", " + std::to_string(seq) + ")";
}

}  // namespace

Oracle::Oracle(const CollectionSchema& schema) : schema_(schema) {}

void Oracle::set_changelog(const Json& changelog) {
  renames_.clear();
  retired_.clear();
  for (const Json& entry : changelog) {
    for (const Json& step : entry.at("steps")) {
      const std::string op = step.at("op");
      if (op == "rename_field") {
        renames_[step.at("from")] = step.at("to");
      } else if (op == "retire_field") {
        retired_.insert(step.at("field").get<std::string>());
      }
    }
  }
}

std::string Oracle::canonical(const std::string& field) const {
  std::string name = field;
  for (size_t hops = 0; hops <= renames_.size(); ++hops) {
    auto it = renames_.find(name);
    if (it == renames_.end()) break;
    name = it->second;
  }
  return name;
}

bool Oracle::retired(const std::string& field) const {
  return retired_.count(canonical(field)) > 0;
}

void Oracle::canonical_set(const Json& set, Json& live, Json& retired_out) const {
  for (const auto& [f, v] : set.items()) {
    (retired(f) ? retired_out : live)[canonical(f)] = v;
  }
}

std::optional<Version> Oracle::version_of(const std::string& device, uint64_t seq) const {
  const auto i = find({device, seq});
  if (!i || writes_[*i].hlc == 0) return std::nullopt;
  return writes_[*i].version();
}

std::optional<size_t> Oracle::find(const Key& k) const {
  auto it = index_.find(k);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::string Oracle::describe(size_t i) const {
  const Write& w = writes_[i];
  std::string s = key_text(w.key.first, w.key.second);
  if (!w.why.empty()) s += " " + w.why;
  s += w.is_delete ? " delete" : " write";
  s += " at " + version_to_string(w.version());
  return s;
}

// --- recording

void Oracle::local_write(const std::string& device, uint64_t seq, const std::string& record,
                         bool is_delete, const Json& set) {
  const Key k{device, seq};
  if (index_.count(k)) {
    note("the harness recorded write " + key_text(device, seq) + " twice");
    return;
  }
  Device& d = devices_[device];
  Write w;
  w.key = k;
  w.record = record;
  w.is_delete = is_delete;
  if (!is_delete) canonical_set(set, w.set, w.retired);
  w.direct = d.past;
  w.shown = d.seen;
  index_[k] = writes_.size();
  d.past.insert(writes_.size());
  writes_.push_back(std::move(w));
}

void Oracle::push_sent(const std::string& device, const Json& change_set) {
  auto ops = change_set.find("ops");
  if (ops == change_set.end() || !ops->is_array()) return;
  for (const Json& op : *ops) {
    const auto seq = uint_member(op, "seq");
    const auto hlc = uint_member(op, "hlc");
    if (!seq || !hlc) {
      note(device + " pushed an op without seq or hlc: " + op.dump());
      continue;
    }
    const auto i = find({device, *seq});
    if (!i) {
      note(device + " pushed op seq " + std::to_string(*seq) + ", a write the harness never made");
      continue;
    }
    Write& w = writes_[*i];
    const bool del = op.value("del", false);
    if (str_member(op, "id") != w.record || del != w.is_delete) {
      note(device + " pushed op seq " + std::to_string(*seq) + " as another write: " + op.dump());
    }
    // The latest the link carried: a re-stamp the device applied travels in its next push.
    w.restamp(*hlc);
  }
}

void Oracle::push_answered(const std::string& device, const Json& answer) {
  Device& d = devices_[device];
  if (const auto acked = uint_member(answer, "acked_seq")) d.acked = std::max(d.acked, *acked);
  if (auto it = answer.find("restamped"); it != answer.end() && it->is_array()) {
    for (const Json& r : *it) {
      const auto seq = uint_member(r, "seq");
      const auto hlc = uint_member(r, "hlc");
      const auto i = seq ? find({device, *seq}) : std::nullopt;
      if (!i || !hlc) {
        note(device + ": push answer re-stamps an op the harness does not know: " + r.dump());
        continue;
      }
      writes_[*i].restamp(*hlc);
    }
  }
  // The server stored a normalised form of some values: that form is the write's value.
  if (auto it = answer.find("stored"); it != answer.end() && it->is_array()) {
    for (const Json& r : *it) {
      const auto seq = uint_member(r, "seq");
      const auto i = seq ? find({device, *seq}) : std::nullopt;
      auto set = r.find("set");
      if (!i || set == r.end() || !set->is_object()) {
        note(device +
             ": push answer stores values of an op the harness does not know: " + r.dump());
        continue;
      }
      for (const auto& [f, v] : set->items()) {
        (retired(f) ? writes_[*i].retired : writes_[*i].set)[canonical(f)] = v;
      }
    }
  }
  // Ops the server acknowledged but will never apply: kept in its refused queue.
  if (auto it = answer.find("refused"); it != answer.end() && it->is_array()) {
    for (const Json& r : *it) {
      const auto seq = uint_member(r, "seq");
      const auto i = seq ? find({device, *seq}) : std::nullopt;
      if (!i) {
        note(device + ": push answer refuses an op the harness does not know: " + r.dump());
        continue;
      }
      writes_[*i].refused = r;
      refused_since_backup_.push_back(*i);
    }
  }
}

void Oracle::pull_answered(const std::string& device, const std::string& cursor, const Json& page) {
  auto ops = page.find("ops");
  if (ops == page.end() || !ops->is_array()) return;
  Page p;
  p.next = str_member(page, "next");
  for (const Json& op : *ops) {
    if (op.contains("gone")) continue;  // the record left this device's regions: nothing seen
    if (auto r = op.find("refused"); r != op.end() && r->is_object()) {
      // A change of this device refused after it was acknowledged (it had waited for its
      // record): from now on it must be kept in the refused queue, as a push refusal is.
      const auto seq = uint_member(*r, "seq");
      const auto i = seq ? find({device, *seq}) : std::nullopt;
      if (str_member(*r, "device") != device || !i) {
        note(device + " received a refusal notice the harness does not know: " + op.dump());
      } else if (!writes_[*i].refused) {
        writes_[*i].refused = *r;
        refused_since_backup_.push_back(*i);
      }
      continue;
    }
    if (auto rec = op.find("rec"); rec != op.end() && rec->is_object()) {
      // A record that moved into this device's regions, whole: its versions are seen.
      if (auto vs = rec->find("versions"); vs != rec->end() && vs->is_object()) {
        for (const auto& [f, v] : vs->items()) p.versions.push_back(decode_version(v));
      }
      if (auto t = rec->find("tombstone"); t != rec->end() && !t->is_null())
        p.versions.push_back(decode_version(*t));
      continue;
    }
    const auto seq = uint_member(op, "seq");
    const auto hlc = uint_member(op, "hlc");
    if (seq) {
      p.ops.emplace_back(str_member(op, "dev"), *seq);
    } else if (hlc) {  // an op known by its version only: resolved at the end
      p.versions.push_back(Version{*hlc, str_member(op, "dev")});
    } else {
      note(device + " received a pulled op with neither seq nor hlc: " + op.dump());
    }
  }
  devices_[device].pages[cursor] = std::move(p);
}

void Oracle::sync_began(const std::string& device, const std::string& stored_cursor) {
  Device& d = devices_[device];
  d.cursor_at_start = stored_cursor;
  d.pages.clear();
}

void Oracle::sync_ended(const std::string& device, const std::string& stored_cursor,
                        bool completed) {
  Device& d = devices_[device];
  // The pages between the cursor the attempt started from and the one the store holds now
  // were applied (each committed with its cursor); any other delivered page was not.
  std::string at = d.cursor_at_start;
  size_t applied = 0;
  for (size_t hops = 0; at != stored_cursor; ++hops) {
    auto it = d.pages.find(at);
    if (it == d.pages.end() || hops > d.pages.size()) {
      note(device + "'s pull cursor moved to \"" + stored_cursor +
           "\", past pages the link never delivered to it (from \"" + at + "\")");
      break;
    }
    for (const Key& k : it->second.ops) {
      if (const auto i = find(k)) {
        d.past.insert(*i);
      } else {
        note(device + " pulled op " + key_text(k.first, k.second) + ", a write nobody made");
      }
    }
    d.seen.insert(d.seen.end(), it->second.versions.begin(), it->second.versions.end());
    ++applied;
    if (it->second.next == at) break;
    at = it->second.next;
  }
  // A sync that completed used every page it received (the last one says there is no
  // more); one left over means the cursor is not where the oracle reads it, and the
  // oracle would under-count what the device saw.
  if (completed && at == stored_cursor) {
    size_t moving = 0;  // pages that move the cursor (an empty last page may not)
    for (const auto& [from, p] : d.pages) moving += p.next != from;
    if (applied < moving) {
      note(device + " completed a sync with " + std::to_string(moving - applied) +
           " received page(s) its stored pull cursor never passed");
    }
  }
  d.pages.clear();
}

void Oracle::server_backed_up() {
  backup_mark_ = writes_.size();
  refused_since_backup_.clear();
}

void Oracle::server_restored() {
  ++restores_;
  // The restored queue lacks the refusals given since the backup: the devices send those
  // ops again (they learn the server lost them) and the new answers decide.
  for (size_t i : refused_since_backup_) {
    writes_[i].refused_before_restore = std::move(writes_[i].refused);
    writes_[i].refused.reset();
  }
  refused_since_backup_.clear();
  for (size_t i = backup_mark_; i < writes_.size(); ++i) {
    Write& w = writes_[i];
    if (w.key.first != "server" || w.lost_in_restore) continue;
    // The restored server numbers its own ops from the backup's count again: the lost
    // write gives up its key.
    index_.erase(w.key);
    w.key.first = "server (lost in restore " + std::to_string(restores_) + ")";
    index_[w.key] = i;
    w.lost_in_restore = true;
  }
}

void Oracle::server_wrote(const Json& ops, const std::vector<Version>& shown,
                          const std::string& why) {
  WriteSet earlier;  // the answer's earlier ops: one reviewer action writes them in order
  for (const Json& op : ops) {
    const auto seq = uint_member(op, "seq");
    const auto hlc = uint_member(op, "hlc");
    if (!seq || !hlc || str_member(op, "dev") != "server") {
      note("a review answer carries an op that is not the server's: " + op.dump());
      continue;
    }
    const Key k{"server", *seq};
    if (index_.count(k)) {
      note("the server wrote op seq " + std::to_string(*seq) + " twice");
      continue;
    }
    Write w;
    w.key = k;
    w.record = str_member(op, "id");
    w.is_delete = op.value("del", false);
    if (!w.is_delete) {
      auto set = op.find("set");
      if (set != op.end() && set->is_object()) canonical_set(*set, w.set, w.retired);
    }
    w.why = why;
    w.hlc = *hlc;
    w.direct = earlier;
    w.shown = shown;
    w.acked = true;
    earlier.insert(writes_.size());
    index_[k] = writes_.size();
    writes_.push_back(std::move(w));
  }
}

}  // namespace lumbung::sim
