// `lumbung-admin devices list|revoke`: the office's view of its laptops (GET
// /v1/admin/devices) told truthfully - "never" for what never happened, a flag on a laptop
// whose changes the server refused or that has gone quiet with work unsent, and device ids
// by a unique prefix like every other id.
#include "admin.h"
#include "common/exit_codes.h"
#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "lumbung/error.h"
#include "lumbung/tuning.h"

namespace lumbung::cli::admin {
namespace {

// A laptop is "stuck" when it has gone this long without a sync while it last reported
// changes to send, or this long since registration without ever syncing: long enough for
// a field trip between signals, short enough to call the officer before the week is lost.
constexpr int64_t kStuckAfterMs = 3LL * 24 * 3600 * 1000;

// A time the server reports as 0 (or leaves out) never happened.
std::optional<int64_t> when(const Json& d, const char* key) {
  auto v = opt_ms(d, key);
  if (v && *v <= 0) return std::nullopt;
  return v;
}

// "2026-12-04 15:00 WIB (3 jam lalu)": the time in the one form every screen uses, and how
// long ago.
std::string ago_or_never(const Json& d, const char* key, int64_t now) {
  const auto v = when(d, key);
  return v ? local_time(v) + " (" + time_ago(v, now) + ")" : tr("admin.never");
}

// What the laptop still has to send, as far as the office can know: its newest seq at its
// last report (`last_seq`) minus what the server has acknowledged since. A report without
// last_seq (a laptop from before it) gives only its pending count as it was then, which
// includes the batch it came with. nullopt: the laptop never reported.
std::optional<uint64_t> unsent(const Json& d) {
  const Json st = d.value("status", Json());
  if (!st.is_object()) return std::nullopt;
  if (auto it = st.find("last_seq"); it != st.end() && it->is_number_unsigned()) {
    const uint64_t last = it->get<uint64_t>();
    const Json acked = d.value("acked_seq", Json(0));
    const uint64_t a = acked.is_number_unsigned() ? acked.get<uint64_t>() : 0;
    return last > a ? last - a : 0;
  }
  if (auto it = st.find("pending"); it != st.end() && it->is_number_unsigned()) {
    return it->get<uint64_t>();
  }
  return std::nullopt;
}

// The device whose id is `ref` or the only one starting with it (4+ characters).
Json find_device(const Json& devices, const std::string& ref) {
  Json found;
  std::vector<std::string> matches;
  for (const auto& d : devices) {
    const std::string id = d.value("device_id", "");
    if (id == ref) return d;
    if (ref.size() >= 4 && id.compare(0, ref.size(), ref) == 0) {
      found = d;
      matches.push_back(id);
    }
  }
  if (matches.size() == 1) return found;
  if (matches.size() > 1) {
    std::string list;
    for (const auto& m : matches) list += (list.empty() ? "" : ", ") + m;
    throw Error(ErrorCode::kInvalidArgument,
                tr("admin.device_ambiguous", {{"ref", printable(ref)}, {"list", list}}));
  }
  throw Error(ErrorCode::kNotFound, tr("admin.device_unknown", {{"ref", printable(ref)}}));
}

}  // namespace

int devices(Admin& a, Args& args) {
  const std::string verb = args.next();
  if (verb == "revoke") {
    const bool force = args.flag("force");
    const std::string ref = args.next();
    args.finish();
    if (ref.empty()) throw Error(ErrorCode::kInvalidArgument, tr("admin.need_device"));
    const Json d = find_device(a.api->get("/v1/admin/devices")["devices"], ref);
    const std::string id = d.value("device_id", "");
    // Revoked, the laptop cannot send what it still holds until it is enrolled again with a
    // code made for it (codes create --device): only on purpose (a lost or stolen laptop).
    const auto left = unsent(d);
    if (left && *left > 0 && !d.value("revoked", false) && !force) {
      *a.err << tr("admin.revoke_unsent", {{"device", id},
                                           {"n", group_number(static_cast<int64_t>(*left))},
                                           {"when", ago_or_never(d, "last_sync_ms", now_ms())}})
             << "\n";
      return kExitUsage;
    }
    Json r = a.api->call("POST", "/v1/admin/devices/" + url_encode(id) + "/revoke");
    if (a.json) {
      print_json(*a.out, r);
    } else {
      *a.out << tr("admin.revoked", {{"device", id}}) << "\n";
    }
    return kExitOk;
  }
  if (verb != "list" && !verb.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                tr("usage.unknown_command", {{"cmd", "devices " + verb}}));
  }
  args.finish();
  Json r = a.api->get("/v1/admin/devices");
  // Each device's open refused changes: what its officer is waiting on the office for.
  std::vector<std::string> ids;
  for (const auto& d : r["devices"]) ids.push_back(d.value("device_id", ""));
  const RefusedCounts refused = open_refused_counts(a, ids);
  const int64_t now = now_ms();
  for (auto& d : r["devices"]) {
    auto it = refused.by_device.find(d.value("device_id", ""));
    d["open_refused"] = it == refused.by_device.end() ? 0 : it->second;
    const auto left = unsent(d);
    d["unsent"] = left ? Json(*left) : Json();
    const uint64_t pending = left.value_or(0);
    const auto synced = when(d, "last_sync_ms");
    const auto registered = when(d, "registered_ms");
    const bool revoked = d.value("revoked", false);
    d["stuck"] = !revoked && ((synced && pending > 0 && now - *synced > kStuckAfterMs) ||
                              (!synced && registered && now - *registered > kStuckAfterMs));
  }
  if (a.json) {
    r["open_refused_complete"] = refused.complete;
    print_json(*a.out, r);
    return kExitOk;
  }
  if (r["devices"].empty()) {
    *a.out << tr("admin.no_devices") << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : r["devices"]) {
    const Json st = d.value("status", Json());
    std::string records = "-";
    const std::string pending = d["unsent"].is_null() ? "-" : value_text(d["unsent"]);
    if (st.is_object() && st.contains("records")) records = value_text(st["records"]);
    std::vector<std::string> scope;
    for (const auto& p : d.value("scope", Json::array())) {
      if (p.is_string()) scope.push_back(p.get<std::string>());
    }
    std::vector<std::string> flags;
    if (d.value("revoked", false)) flags.push_back(tr("admin.revoked_word"));
    if (d.value("stuck", false)) flags.push_back(tr("admin.flag_stuck"));
    if (d["open_refused"].get<uint64_t>() > 0) {
      flags.push_back(tr("admin.flag_refused", {{"n", value_text(d["open_refused"])}}));
    }
    std::string flag_text;
    for (const auto& f : flags) flag_text += (flag_text.empty() ? "" : ", ") + f;
    rows.push_back({d.value("device_id", ""), d.value("label", ""), regions_text(scope),
                    ago_or_never(d, "last_seen_ms", now), ago_or_never(d, "last_sync_ms", now),
                    value_text(d.value("acked_seq", Json(0))), records, pending,
                    value_text(d["open_refused"]) + (refused.complete ? "" : "+"), flag_text});
  }
  print_table(
      *a.out,
      {tr("admin.col.device"), tr("admin.col.label"), tr("admin.col.scope"), tr("admin.col.seen"),
       tr("admin.col.synced"), tr("admin.col.acked"), tr("admin.col.records"),
       tr("admin.col.pending_reported"), tr("admin.col.refused"), tr("admin.col.attention")},
      rows, 40);
  if (!refused.complete) *a.out << tr("admin.refused_counts_cut") << "\n";
  *a.out << tr("admin.devices_legend") << "\n";
  return kExitOk;
}

}  // namespace lumbung::cli::admin
