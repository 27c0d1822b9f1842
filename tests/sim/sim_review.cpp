// The central office's actions in the simulation: conflict resolutions (some contested by
// an officer's edit) and duplicate merges, each told to the oracle with what the reviewer
// was shown. See simulation.h.
#include "sim/simulation.h"

namespace lumbung::sim::detail {

// --- reviewer actions (straight to the server: the central office has a good link; the
// requests may still be held and delivered again later, like any request)
Json Simulation::call(const std::string& method, const std::string& target, const Json& body,
                      const std::string& token, int* status) {
  HttpRequest r;
  r.method = method;
  r.target = target;
  r.headers.emplace_back("Authorization", "Bearer " + token);
  if (!body.is_null()) r.body = body.dump();
  InProcessTransport t(*server_);
  HttpResponse resp = t.send(r);
  const bool review =
      target.rfind("/v1/conflicts/", 0) == 0 || target.rfind("/v1/duplicates/", 0) == 0;
  if (mode_ != FaultMode::kNone && method == "POST" && review && faults_() % 5 == 0)
    held_.push_back(r);
  if (status) *status = resp.status;
  Json j = Json::parse(resp.body, nullptr, false);
  if (!status && (resp.status < 200 || resp.status >= 300)) {
    fail(method + " " + target + " answered " + std::to_string(resp.status) + ": " + resp.body);
  }
  return j;
}

Json Simulation::admin_post(const std::string& target, const Json& body) {
  return call("POST", target, body, server_->admin_token());
}

// Review lists sorted by content, not by id or time, so the schedule's choice does not
// depend on hlc values (which carry a little real time: the client's round-trip estimate).
std::string Simulation::content_key(const Json& c) {
  std::vector<std::string> sides{c["winner"]["value"].dump(), c["loser"]["value"].dump()};
  std::sort(sides.begin(), sides.end());
  return c["record_id"].get<std::string>() + "|" + c["field"].get<std::string>() + "|" +
         c["kind"].get<std::string>() + "|" + sides[0] + "|" + sides[1];
}

// The content key and then each side's writer: two open entries can show the same two
// values (an edit against a delete, and a reviewer's later delete against that edit), and
// the list's own order (when found, then id: a hash of the entry's versions, whose stamps
// carry a little real time) differs between runs with and without faults.
std::string Simulation::pick_key(const Json& c) {
  std::vector<std::pair<std::string, std::string>> sides{
      {c["winner"]["value"].dump(), decode_version(c["winner"]["version"]).device},
      {c["loser"]["value"].dump(), decode_version(c["loser"]["version"]).device}};
  std::sort(sides.begin(), sides.end());
  return content_key(c) + "|" + sides[0].second + "|" + sides[1].second;
}

std::optional<Json> Simulation::pick_open_conflict() {
  Json list = call("GET", "/v1/conflicts?status=open", Json(), reviewer_)["conflicts"];
  if (list.empty()) return std::nullopt;
  std::vector<Json> cs(list.begin(), list.end());
  std::sort(cs.begin(), cs.end(),
            [](const Json& a, const Json& b) { return pick_key(a) < pick_key(b); });
  return cs[step_() % cs.size()];
}

// The reviewer resolves entry `c` as it was shown: the server's op is told to the oracle
// with the entry's two versions as everything the reviewer saw.
void Simulation::resolve(const Json& c) {
  Json body;
  const int how = static_cast<int>(step_() % 3);
  const std::string field = c["field"];
  const int slot = editable_slot(field);
  if (how == 2 && c["kind"] != "update_delete" && (slot == 0 || slot == 1 || slot == 4)) {
    body = Json{{"value", value_for(field, published_)}};
  } else {
    body = Json{{"keep", how == 0 ? "winner" : "loser"}};
  }
  int status = 0;
  Json r = call("POST", "/v1/conflicts/" + c["id"].get<std::string>() + "/resolve", body, reviewer_,
                &status);
  log("reviewer resolves %s %s: %d", content_key(c).c_str(), body.dump().c_str(), status);
  ++stats_.reviews;
  if (status == 200) {
    std::vector<Version> shown{decode_version(c["winner"]["version"]),
                               decode_version(c["loser"]["version"])};
    if (c.contains("record") && c["record"].is_object()) {  // an entry showing the record
      // (Held: items() of the temporary value() returns would outlive it.)
      const Json versions = c["record"].value("versions", Json::object());
      for (const auto& [f, v] : versions.items()) shown.push_back(decode_version(v));
    }
    oracle_.server_wrote(Json::array({r["resolution"]["op"]}), shown, "resolution");
  } else if (status != 400 && status != 422) {
    // A keep that cannot be written (nothing left to keep; a forward-only field that
    // would move back) is a refusal, not a bug: the entry stays open.
    fail("resolve answered " + std::to_string(status) + ": " + r.dump());
  }
}

// A reviewer resolves an entry while an officer edits the same field: the officer's value
// reaches the server before the resolution (the reviewer was shown the entry without it:
// issue 11, case 2), after it (the officer had not seen the resolution), or they cross.
void Simulation::contested_resolution() {
  auto c = pick_open_conflict();
  if (!c) return;
  const std::string id = (*c)["record_id"];
  int slot = editable_slot((*c)["field"]);
  if (slot < 0) slot = static_cast<int>(step_() % kEditableSlots);
  const size_t first = step_() % devices_.size();
  SimDevice* officer = nullptr;
  for (size_t k = 0; k < devices_.size() && !officer; ++k) {
    SimDevice& cand = *devices_[(first + k) % devices_.size()];
    if (cand.store->get("enrolment", id)) officer = &cand;
  }
  const int order = static_cast<int>(step_() % 3);
  // The entry's field as the officer's schema version names it.
  const int version = officer ? officer->store->schema().version() : published_;
  const std::string field = editable_field(slot, version);
  const Json patch{{field, value_for(field, version)}};
  if (!officer) return resolve(*c);
  log("%s edits %s while the reviewer resolves it (order %d)", officer->id.c_str(), id.c_str(),
      order);
  if (order == 0) {
    edit_record(*officer, id, patch);
    sync(*officer);
    resolve(*c);
  } else if (order == 1) {
    resolve(*c);
    edit_record(*officer, id, patch);
    sync(*officer);
  } else {
    edit_record(*officer, id, patch);
    resolve(*c);
    sync(*officer);
  }
}

void Simulation::merge_duplicate() {
  Json list = call("GET", "/v1/duplicates?status=open", Json(), reviewer_)["duplicates"];
  if (list.empty()) return;
  std::vector<Json> ds(list.begin(), list.end());
  std::sort(ds.begin(), ds.end(), [](const Json& a, const Json& b) {
    return a["record_ids"].dump() < b["record_ids"].dump();
  });
  const Json& d = ds[step_() % ds.size()];
  const std::string survivor = d["record_ids"][step_() % 2];
  int status = 0;
  Json r = call("POST", "/v1/duplicates/" + d["id"].get<std::string>() + "/merge",
                Json{{"survivor", survivor}}, reviewer_, &status);
  log("reviewer merges %s into %s: %d", d["record_ids"].dump().c_str(), survivor.c_str(), status);
  ++stats_.reviews;
  if (status != 200) {
    fail("merge answered " + std::to_string(status) + ": " + r.dump());
    return;
  }
  // The reviewer was shown both records whole: every version in them.
  std::vector<Version> shown;
  for (const Json& rec : d["records"]) {
    if (rec.contains("versions")) {
      for (const auto& [f, v] : rec["versions"].items()) shown.push_back(decode_version(v));
    }
    if (rec.contains("tombstone") && !rec["tombstone"].is_null())
      shown.push_back(decode_version(rec["tombstone"]));
  }
  oracle_.server_wrote(r["resolution"]["ops"], shown, "merge");
}

}  // namespace lumbung::sim::detail
