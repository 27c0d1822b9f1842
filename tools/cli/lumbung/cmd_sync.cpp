// config, status, conflicts and sync: the laptop's relationship with the server (init is in
// cmd_init.cpp).
#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "common/api.h"
#include "common/exit_codes.h"
#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "common/progress.h"
#include "common/trust.h"
#include "draft_review.h"
#include "drafts.h"
#include "laptop.h"
#include "lumbung/error.h"
#include "record_view.h"

namespace lumbung::cli {
namespace {

// The server runs a newer schema version (issue 18): the laptop takes the server's document
// as its schema.json; its store renames its records' fields when next opened, unsent changes
// keeping the version they were written under (lumbung/store.h Store::open,
// store_migrate.cpp). Drafts note their version first and are read in the new names from
// then on (drafts.h note_version). A document without the server's valid signature is
// refused before anything is written: the officer is told, the laptop stays on its version
// and the rest of the sync stands (returns the refusal's text, else "").
std::string learn_schema(const Context& ctx, Laptop& lap, SyncClient& client, const SyncReport& r) {
  const int mine = lap.store().schema().version();
  if (r.server_schema_version <= mine) return {};
  Json doc;
  try {
    doc = client.fetch_schema();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kSignatureInvalid) throw;
    *ctx.err << tr("sync.schema_refused", {{"version", std::to_string(r.server_schema_version)},
                                           {"mine", std::to_string(mine)},
                                           {"detail", printable(e.what())}})
             << "\n";
    return e.what();
  }
  Drafts(lap.store(), lap.home()).note_version();
  const std::string path = lap.home() + "/schema.json", tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << doc.dump(2) << "\n";
    if (!out) throw Error(ErrorCode::kStorage, tr("laptop.cannot_write", {{"path", tmp}}));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw Error(ErrorCode::kStorage, tr("laptop.cannot_write", {{"path", path}}));
  }
  *ctx.err << tr("sync.schema_learnt", {{"version", value_text(doc.value("version", Json(0)))},
                                        {"mine", std::to_string(mine)}})
           << "\n";
  return {};
}

std::string server_of(const Context& ctx, const Laptop& lap) {
  std::string url = ctx.server.empty() ? lap.server_url() : ctx.server;
  if (url.empty()) throw Error(ErrorCode::kInvalidArgument, tr("sync.no_server"));
  return url;
}

// Ctrl-C during a sync: the first asks the client to stop at the next request boundary
// (everything committed stays committed); a second one ends the process at once, which is
// also safe because every page and batch commits atomically.
std::atomic<bool> g_cancel{false};

extern "C" void on_interrupt(int) {
  if (g_cancel.exchange(true)) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
    return;
  }
  static const char msg[] = "\n^C\n";
  ssize_t ignored = ::write(2, msg, sizeof msg - 1);
  (void)ignored;
}

}  // namespace

struct Interrupts::Saved {
  struct sigaction int_ {
  }, term{};
};

Interrupts::Interrupts() : saved_(std::make_unique<Saved>()) {
  g_cancel = false;
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &saved_->int_);
  sigaction(SIGTERM, &sa, &saved_->term);
}

Interrupts::~Interrupts() {
  sigaction(SIGINT, &saved_->int_, nullptr);
  sigaction(SIGTERM, &saved_->term, nullptr);
}

const std::atomic<bool>* Interrupts::flag() const { return &g_cancel; }

int cmd_config(Context& ctx, Args& args) {
  const auto officer = args.value("officer");
  const auto label = args.value("label");
  args.finish();
  Laptop lap(ctx.home);
  if (!ctx.server.empty()) lap.config()["server"] = ctx.server;
  if (officer) lap.config()["officer"] = *officer;
  if (label) lap.config()["label"] = *label;
  lap.save_config();
  Json shown = lap.config();
  shown["home"] = ctx.home;
  shown["registered"] = lap.registered();
  if (ctx.json) {
    print_json(*ctx.out, shown);
  } else {
    for (auto it = shown.begin(); it != shown.end(); ++it) {
      *ctx.out << "  " << it.key() << ": " << value_text(it.value()) << "\n";
    }
  }
  return kExitOk;
}

int cmd_status(Context& ctx, Args& args) {
  args.finish();
  Laptop lap(ctx.home);
  const StoreStats s = lap.store().stats();
  const int64_t now = now_ms();
  // Forms not yet records; those kept for review go to the office (draft_review.h).
  const std::vector<Draft> all_drafts = Drafts(lap.store()).all();
  const size_t drafts = all_drafts.size();
  size_t at_office = 0, dismissed = 0;
  for (const Draft& d : all_drafts) {
    at_office += d.office_status == "open";
    dismissed += d.office_status == "dismissed";
  }
  if (ctx.json) {
    Json j{{"device_id", lap.store().device_id()},
           {"server", lap.server_url()},
           {"registered", lap.registered()},
           {"records", s.records},
           {"deleted", s.deleted},
           {"pending_changes", s.pending_changes},
           {"open_conflicts", s.open_conflicts},
           {"refused_changes", s.refused_changes},
           {"drafts", drafts},
           {"drafts_at_office", at_office},
           {"drafts_dismissed", dismissed},
           {"regions", lap.store().regions()},
           {"oldest_pending_ms", s.oldest_pending_ms ? Json(*s.oldest_pending_ms) : Json()},
           {"last_sync_ms", s.last_sync_ms ? Json(*s.last_sync_ms) : Json()}};
    print_json(*ctx.out, j);
    return kExitOk;
  }
  auto& o = *ctx.out;
  o << tr("status.device", {{"device", lap.store().device_id()}, {"server", lap.server_url()}})
    << "\n";
  if (!lap.registered()) o << "  " << tr("status.not_registered") << "\n";
  if (const auto regions = lap.store().regions(); !regions.empty()) {
    o << "  " << tr("status.regions", {{"regions", regions_text(regions)}}) << "\n";
  }
  o << "  " << tr("status.records", {{"n", group_number(static_cast<int64_t>(s.records))}}) << "\n";
  o << "  " << tr("status.pending", {{"n", group_number(static_cast<int64_t>(s.pending_changes))}})
    << "\n";
  o << "  "
    << tr("status.last_sync",
          {{"when", local_time(s.last_sync_ms)}, {"ago", time_ago(s.last_sync_ms, now)}})
    << "\n";
  if (s.oldest_pending_ms) {
    o << "  "
      << tr("status.oldest", {{"when", local_time(s.oldest_pending_ms)},
                              {"ago", time_ago(s.oldest_pending_ms, now)}})
      << "\n";
  }
  o << "  " << tr("status.conflicts", {{"n", std::to_string(s.open_conflicts)}}) << "\n";
  const std::string refused = group_number(static_cast<int64_t>(s.refused_changes));
  o << "  " << tr("status.refused", {{"n", refused}}) << "\n";
  if (s.pending_changes > 0) o << tr("status.hint_sync") << "\n";
  if (s.refused_changes > 0) o << tr("status.hint_refused", {{"n", refused}}) << "\n";
  if (drafts > 0) {
    std::string office;
    if (at_office > 0) office += tr("status.drafts_at_office", {{"n", std::to_string(at_office)}});
    if (dismissed > 0) {
      office += tr("status.drafts_dismissed", {{"n", std::to_string(dismissed)}});
    }
    o << tr("status.drafts", {{"n", std::to_string(drafts)}, {"office", office}}) << "\n";
  }
  return kExitOk;
}

int cmd_conflicts(Context& ctx, Args& args) {
  const bool all = args.flag("all");
  args.finish();
  Laptop lap(ctx.home);
  const CollectionSchema& cs = lap.collection();
  const std::vector<Conflict> list = lap.store().conflicts(all);
  auto title = [&](const Conflict& c) {
    auto r = lap.store().get(c.collection, c.record_id, true);
    return r ? record_title(cs, r->fields) : std::string();
  };
  if (ctx.json) {
    Json arr = Json::array();
    for (const Conflict& c : list) {
      arr.push_back(Json{
          {"id", c.id},
          {"kind", conflict_kind_name(c.kind)},
          {"collection", c.collection},
          {"record_id", c.record_id},
          {"title", title(c)},
          {"field", c.field},
          {"winner", {{"value", c.winner.value}, {"version", encode_version(c.winner.version)}}},
          {"loser", {{"value", c.loser.value}, {"version", encode_version(c.loser.version)}}},
          {"other_record", c.other_record}});
    }
    print_json(*ctx.out, Json{{"conflicts", arr}});
    return kExitOk;
  }
  if (list.empty()) {
    *ctx.out << tr("conflicts.none") << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Conflict& c : list) {
    const FieldDef* f = cs.field(c.field);
    rows.push_back({c.id.substr(0, 8), tr(std::string("kind.") + conflict_kind_name(c.kind)),
                    title(c), f ? field_label(*f) : c.field,
                    f ? value_display(*f, c.winner.value, true) : value_text(c.winner.value),
                    f ? value_display(*f, c.loser.value, true) : value_text(c.loser.value)});
  }
  print_table(*ctx.out,
              {"id", tr("conflicts.kind"), tr("conflicts.record"), tr("conflicts.field"),
               tr("conflicts.kept"), tr("conflicts.other")},
              rows, 28);
  *ctx.out << tr("conflicts.hint") << "\n";
  return kExitOk;
}

int cmd_sync(Context& ctx, Args& args) {
  const auto retries = args.value("retries");
  const auto timeout = args.value("timeout");
  const auto batch = args.value("batch");
  // Largest batch or page in bytes on the wire; sizes still adapt to the link below it.
  const auto max_batch_bytes = args.value("max-batch-bytes");
  const bool quiet = args.flag("quiet");
  // A laptop's first pull (no cursor yet): its regions' current records, or the whole log.
  const std::string first_pull = args.value("first-pull").value_or("auto");
  args.finish();
  if (first_pull != "auto" && first_pull != "snapshot" && first_pull != "replay") {
    throw Error(ErrorCode::kInvalidArgument,
                tr("sync.bad_first_pull", {{"value", printable(first_pull)}}));
  }
  Laptop lap(ctx.home);
  if (!ctx.server.empty() && ctx.server != lap.server_url()) {
    // A new address for the central office: remember it for next time.
    lap.config()["server"] = ctx.server;
    lap.save_config();
  }
  const std::string url = server_of(ctx, lap);
  // A pinned office server whose certificate the laptop does not hold yet (cmd_init.cpp).
  if (const int rc = office_trust_or_explain(ctx, lap, url); rc != kExitOk) return rc;
  HttpTransportOptions topt = transport_options(60000, &lap.config());
  if (timeout) topt.timeout_ms = std::stoi(*timeout) * 1000;
  auto transport = make_http_transport(url, topt);

  SyncOptions o;
  o.bootstrap_snapshot = first_pull != "replay";
  o.bootstrap_auto = first_pull == "auto";
  if (retries) o.max_attempts = static_cast<unsigned>(std::max(1, std::stoi(*retries)));
  if (batch) o.push_batch = static_cast<size_t>(std::max(1, std::stoi(*batch)));
  if (max_batch_bytes) {
    o.max_batch_bytes = static_cast<size_t>(std::max(2048LL, std::stoll(*max_batch_bytes)));
  }
  ProgressBar bar(*ctx.err, is_terminal(2), ctx.json);
  if (!quiet) o.on_progress = [&](const SyncProgress& p) { bar.update(p); };
  const Interrupts interrupts;
  o.cancel = interrupts.flag();

  const uint64_t conflicts_before = lap.store().stats().open_conflicts;
  try {
    if (lap.register_if_needed(*transport)) {
      *ctx.err << tr("sync.registered", {{"device", lap.store().device_id()}}) << "\n";
    }
    // A rotation left half done (link cut, crash) finishes first.
    if (lap.rotate_token(*transport, false)) *ctx.err << tr("sync.token_renewed") << "\n";
    SyncClient client(lap.store(), *transport, lap.token());
    // Attachments go after the records (lumbung/attachments.h).
    auto attachments = open_attachments(lap);
    o.attachments = attachments.get();
    if (!quiet && !ctx.json) {
      o.on_attachment = [&](const AttachmentProgress& p) { attachment_progress(ctx, p); };
    }
    const SyncReport r = client.sync(o);
    bar.finish();
    const std::string schema_refused = learn_schema(ctx, lap, client, r);
    // Drafts kept for review go to the office (and its decisions come back) after the sync.
    const Json drafts = exchange_review_drafts(ctx, lap, url, topt);
    const uint64_t opened = lap.store().stats().open_conflicts -
                            std::min(lap.store().stats().open_conflicts, conflicts_before);
    if (ctx.json) {
      Json out{{"pushed", r.pushed},
               {"pulled", r.pulled},
               {"applied", r.applied},
               {"conflicts", r.conflicts},
               {"open_conflicts", lap.store().stats().open_conflicts},
               {"refused", r.refused},
               {"refused_total", lap.store().stats().refused_changes},
               {"bytes_up", r.bytes_up},
               {"bytes_down", r.bytes_down},
               {"requests", r.requests},
               {"retries", r.retries},
               {"seconds", r.seconds},
               {"drafts", drafts},
               {"attachments", attachments_json(r.attachments, attachments.get())}};
      if (!schema_refused.empty()) out["schema_refused"] = schema_refused;
      print_json(*ctx.out, out);
    } else {
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.1f", r.seconds);
      std::string s = secs;
      if (language() == Lang::kIndonesian) std::replace(s.begin(), s.end(), '.', ',');
      *ctx.out << tr("sync.summary", {{"sent", group_number(static_cast<int64_t>(r.pushed))},
                                      {"received", group_number(static_cast<int64_t>(r.pulled))},
                                      {"applied", group_number(static_cast<int64_t>(r.applied))},
                                      {"conflicts", std::to_string(std::max<uint64_t>(opened, 0))},
                                      {"up", human_bytes(r.bytes_up)},
                                      {"down", human_bytes(r.bytes_down)},
                                      {"secs", s}})
               << "\n";
      if (r.retries > 0) {
        *ctx.out << tr("sync.retried", {{"n", std::to_string(r.retries)}}) << "\n";
      }
      const uint64_t open = lap.store().stats().open_conflicts;
      if (open > 0) *ctx.out << tr("sync.open_conflicts", {{"n", std::to_string(open)}}) << "\n";
      if (r.refused > 0) {
        *ctx.out << tr("sync.refused_now", {{"n", group_number(static_cast<int64_t>(r.refused))}})
                 << "\n";
      }
      report_attachments(ctx, r.attachments, attachments.get());
    }
    return kExitOk;
  } catch (const Error& e) {
    bar.finish();
    const StoreStats s = lap.store().stats();
    const std::string pending = group_number(static_cast<int64_t>(s.pending_changes));
    switch (e.code()) {
      case ErrorCode::kCancelled:
        *ctx.err << tr("sync.cancelled", {{"pending", pending}}) << "\n";
        break;
      case ErrorCode::kTransport:
        if (const TlsRefusal why = tls_refusal(e); why != TlsRefusal::kNone) {
          *ctx.err << tls_refusal_text(why, url, printable(e.what())) << "\n";
          return kExitAuth;  // not the link: waiting for a signal will not help
        }
        *ctx.err << tr("sync.unreachable",
                       {{"server", url}, {"detail", printable(e.what())}, {"pending", pending}})
                 << "\n";
        break;
      case ErrorCode::kUnauthorized:
      case ErrorCode::kForbidden:
        if (!lap.registered()) {
          explain_register_error(ctx, e, url);
        } else if (std::strstr(e.what(), "device revoked")) {
          // Said in the officer's words, with what it means for the work on the laptop.
          *ctx.err << tr("sync.revoked", {{"pending", group_number(static_cast<int64_t>(
                                                          lap.store().stats().pending_changes))}})
                   << "\n";
        } else {
          *ctx.err << tr("sync.refused", {{"detail", error_text(e)}}) << "\n";
        }
        break;
      case ErrorCode::kOutOfScope:
        *ctx.err << tr("sync.out_of_scope", {{"detail", printable(e.what())}}) << "\n";
        break;
      default:
        *ctx.err << tr("sync.failed", {{"detail", printable(e.what())}, {"pending", pending}})
                 << "\n";
    }
    return exit_code_for(e.code());
  }
}

// `lumbung token rotate`: a new device token, the old one kept until the new one works
// (Laptop::rotate_token). Nothing else on the laptop changes.
int cmd_token(Context& ctx, Args& args) {
  const std::string verb = args.next();
  args.finish();
  if (verb != "rotate") {
    throw Error(ErrorCode::kInvalidArgument,
                tr("usage.unknown_command", {{"cmd", "token " + verb}}));
  }
  Laptop lap(ctx.home);
  if (!lap.registered()) throw Error(ErrorCode::kUnauthorized, tr("token.not_registered"));
  auto transport =
      make_http_transport(server_of(ctx, lap), transport_options(60000, &lap.config()));
  try {
    lap.rotate_token(*transport, true);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kTransport) throw;
    if (const TlsRefusal why = tls_refusal(e); why != TlsRefusal::kNone) {
      *ctx.err << tls_refusal_text(why, server_of(ctx, lap), printable(e.what())) << "\n";
      return kExitAuth;
    }
    *ctx.err << tr("token.offline", {{"detail", printable(e.what())}}) << "\n";
    return exit_code_for(e.code());
  }
  const uint64_t pending = lap.store().stats().pending_changes;
  if (ctx.json) {
    print_json(*ctx.out, Json{{"rotated", true}, {"pending_changes", pending}});
  } else {
    *ctx.out << tr("token.rotated", {{"pending", group_number(static_cast<int64_t>(pending))}})
             << "\n";
  }
  return kExitOk;
}

}  // namespace lumbung::cli
