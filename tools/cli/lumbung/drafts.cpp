#include "drafts.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "lumbung/error.h"
#include "lumbung/schema_versions.h"

namespace lumbung::cli {
namespace {

const char* kSecret = "enrol_drafts";

Json to_json(const Draft& d) {
  return Json{{"id", d.id},
              {"fields", d.fields},
              {"note", d.note},
              {"record_id", d.record_id},
              {"review", d.review},
              {"created_ms", d.created_ms},
              {"updated_ms", d.updated_ms},
              {"office_id", d.office_id},
              {"office_status", d.office_status},
              {"office_note", d.office_note},
              {"sent_hash", d.sent_hash},
              {"sends", d.sends}};
}

Draft from_json(const Json& j) {
  Draft d;
  if (!j.is_object()) return d;
  d.id = j.value("id", std::string());
  if (j.contains("fields") && j["fields"].is_object()) d.fields = j["fields"];
  d.note = j.value("note", std::string());
  d.record_id = j.value("record_id", std::string());
  d.review = j.value("review", false);
  d.created_ms = j.value("created_ms", int64_t{0});
  d.updated_ms = j.value("updated_ms", int64_t{0});
  d.office_id = j.value("office_id", std::string());
  d.office_status = j.value("office_status", std::string());
  d.office_note = j.value("office_note", std::string());
  d.sent_hash = j.value("sent_hash", std::string());
  d.sends = j.value("sends", 0);
  return d;
}

// An exclusive flock of dir/drafts.lock while it lives (nothing when dir is empty). The
// holder only reads, changes and writes one secret, so a waiter waits milliseconds.
class ListLock {
 public:
  explicit ListLock(const std::string& dir) {
    if (dir.empty()) return;
    const std::string path = dir + "/drafts.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw Error(ErrorCode::kStorage, tr("laptop.cannot_write", {{"path", path}}));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd_);
        throw Error(ErrorCode::kStorage, tr("laptop.cannot_write", {{"path", path}}));
      }
    }
  }
  ~ListLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  ListLock(const ListLock&) = delete;
  ListLock& operator=(const ListLock&) = delete;

 private:
  int fd_ = -1;
};

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Json Drafts::load() const {
  const std::string text = store_.get_secret(kSecret);
  Json doc = text.empty() ? Json() : Json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("drafts") || !doc["drafts"].is_array()) {
    if (!text.empty()) throw Error(ErrorCode::kCorrupt, tr("drafts.damaged"));
    doc = Json{{"next", 1}, {"drafts", Json::array()}};
  }
  // Typed under an older schema version (note_version): the fields take the new names.
  const Schema& schema = store_.schema();
  const int sv = doc.value("sv", schema.version());
  if (sv < schema.version() && !schema.changelog().is_null() && !schema.collections().empty()) {
    const auto steps =
        parse_changelog(Json{{"version", schema.version()}, {"changelog", schema.changelog()}});
    const std::string col = schema.collections().front().name();  // the enrolment form's
    for (Json& d : doc["drafts"]) {
      if (!d.is_object() || !d.contains("fields") || !d["fields"].is_object()) continue;
      Json fields = Json::object();
      for (auto& [name, value] : d["fields"].items()) {
        const std::string now = name_after_steps(steps, col, name, sv);
        if (now.empty()) {
          d["retired"][name] = value;  // kept with the draft, not typed into the form again
        } else {
          fields[now] = value;
        }
      }
      d["fields"] = std::move(fields);
    }
  }
  doc["sv"] = schema.version();
  return doc;
}

void Drafts::store(const Json& doc) { store_.set_secret(kSecret, doc.dump()); }

void Drafts::note_version() {
  ListLock lock(lock_dir_);
  const std::string text = store_.get_secret(kSecret);
  if (text.empty()) return;
  Json doc = load();
  store(doc);
}

std::vector<Draft> Drafts::all() const {
  std::vector<Draft> out;
  const Json doc = load();  // named: a range-for over load()["drafts"] would dangle
  for (const Json& j : doc["drafts"]) out.push_back(from_json(j));
  return out;
}

std::optional<Draft> Drafts::find(const std::string& ref) const {
  std::string want = upper(trim(ref));
  if (!want.empty() && want[0] != 'D') want = "D" + want;
  for (Draft& d : all()) {
    if (d.id == want) return d;
  }
  return std::nullopt;
}

std::string Drafts::save(Draft& d) {
  ListLock lock(lock_dir_);
  Json doc = load();
  Json& list = doc["drafts"];
  d.updated_ms = now_ms();
  if (d.created_ms == 0) d.created_ms = d.updated_ms;
  for (Json& j : list) {
    if (j.value("id", std::string()) == d.id && !d.id.empty()) {
      Json retired = j.value("retired", Json());  // values of fields retired since typed
      j = to_json(d);
      if (!retired.is_null()) j["retired"] = std::move(retired);
      store(doc);
      return d.id;
    }
  }
  if (list.size() >= kMaxDrafts) {
    throw Error(ErrorCode::kInvalidArgument,
                tr("drafts.full", {{"n", std::to_string(kMaxDrafts)}}));
  }
  const int64_t next = doc.value("next", int64_t{1});
  d.id = "D" + std::to_string(next);
  doc["next"] = next + 1;
  list.push_back(to_json(d));
  store(doc);
  return d.id;
}

bool Drafts::remove(const std::string& id, bool decided) {
  ListLock lock(lock_dir_);
  Json doc = load();
  Json& list = doc["drafts"];
  const size_t before = list.size();
  Json kept = Json::array();
  for (const Json& j : list) {
    if (j.value("id", std::string()) != id) {
      kept.push_back(j);
      continue;
    }
    const Draft d = from_json(j);
    if (!decided && d.office_status == "open") {
      doc["withdraw"].push_back(Json{{"draft", d.id}, {"rev", d.sends}});
    }
  }
  if (kept.size() == before) return false;
  list = kept;
  store(doc);
  return true;
}

bool Drafts::update(const std::string& id, const std::function<void(Draft&)>& change) {
  ListLock lock(lock_dir_);
  Json doc = load();
  for (Json& j : doc["drafts"]) {
    if (j.value("id", std::string()) != id) continue;
    Json retired = j.value("retired", Json());
    Draft d = from_json(j);
    change(d);
    j = to_json(d);
    if (!retired.is_null()) j["retired"] = std::move(retired);
    store(doc);
    return true;
  }
  return false;
}

std::vector<Withdrawal> Drafts::withdrawals() const {
  std::vector<Withdrawal> out;
  const Json doc = load();
  if (!doc.contains("withdraw") || !doc["withdraw"].is_array()) return out;
  for (const Json& w : doc["withdraw"]) {
    if (w.is_object()) out.push_back({w.value("draft", std::string()), w.value("rev", 0)});
  }
  return out;
}

void Drafts::withdrawn(const Withdrawal& w) {
  ListLock lock(lock_dir_);
  Json doc = load();
  if (!doc.contains("withdraw") || !doc["withdraw"].is_array()) return;
  Json kept = Json::array();
  for (const Json& x : doc["withdraw"]) {
    if (!(x.is_object() && x.value("draft", std::string()) == w.draft &&
          x.value("rev", 0) == w.rev)) {
      kept.push_back(x);
    }
  }
  doc["withdraw"] = std::move(kept);
  store(doc);
}

std::vector<std::string> missing_labels(const CollectionSchema& cs, const Json& fields) {
  std::vector<std::string> out;
  for (const FieldDef& f : cs.fields()) {
    if (!f.required || is_auto_field(cs, f)) continue;
    auto it = fields.find(f.name);
    if (it == fields.end() || it->is_null()) out.push_back(field_label(f));
  }
  return out;
}

}  // namespace lumbung::cli
