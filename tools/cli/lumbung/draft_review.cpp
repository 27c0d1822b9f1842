#include "draft_review.h"

#include <functional>
#include <iostream>
#include <map>

#include "common/api.h"
#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "drafts.h"
#include "enrol_form.h"
#include "lumbung/error.h"

namespace lumbung::cli {
namespace {

// Items per request: the server takes at most 100 (review/refused_queue.h).
constexpr size_t kDraftsPerRequest = 50;

// The record the draft becomes, as the office gets it: typed fields, the automatic ones
// (officer, ...) filled in as a completed form would be.
Json office_fields(const Laptop& lap, const Draft& d) {
  Json fields = without_nulls(d.fields);
  fill_auto_fields(lap.collection(), fields, lap.officer());
  return fields;
}

// What the office has seen of a draft: the fields typed and the note. Not a security
// hash, only "changed since sent".
std::string content_hash(const Json& fields, const std::string& note) {
  return std::to_string(std::hash<std::string>{}(fields.dump() + '\n' + note));
}

std::string title_of(const Laptop& lap, const Draft& d) {
  const std::string t = record_title(lap.collection(), d.fields);
  return printable(t.empty() ? std::string("-") : t);
}

struct Pending {
  enum class Kind { kSend, kAsk, kWithdraw } kind;
  Draft draft;  // kSend/kAsk: the draft; kWithdraw: id only
  int rev = 0;
  std::string hash;  // kSend: of what is sent
};

}  // namespace

Json exchange_review_drafts(Context& ctx, Laptop& lap, const std::string& url,
                            const HttpTransportOptions& options) {
  Json summary{{"sent", 0}, {"applied", 0}, {"dismissed", 0}, {"not_taken", 0}, {"withdrawn", 0}};
  Drafts drafts(lap.store(), lap.home());
  const CollectionSchema& cs = lap.collection();
  auto say = [&](const std::string& key, Params p) {
    if (!ctx.json) *ctx.out << tr(key, p) << "\n";
  };

  std::vector<Pending> work;
  for (const Withdrawal& w : drafts.withdrawals()) {
    Pending p{Pending::Kind::kWithdraw, Draft{}, w.rev, ""};
    p.draft.id = w.draft;
    work.push_back(std::move(p));
  }
  for (Draft d : drafts.all()) {
    // Applied by the office and pulled already: the draft has become the record.
    if (!d.office_id.empty() && !d.record_id.empty() &&
        lap.store().get(cs.name(), d.record_id, true)) {
      drafts.remove(d.id, /*decided=*/true);
      summary["applied"] = summary["applied"].get<int>() + 1;
      say("drafts.office_applied", {{"id", d.id},
                                    {"name", title_of(lap, d)},
                                    {"record", short_id(d.record_id)},
                                    {"outside", ""}});
      continue;
    }
    const bool open = d.office_status == "open";
    if (!d.review) {
      // Resumed and kept again, but no longer for review: the office's entry goes.
      if (open) work.push_back({Pending::Kind::kWithdraw, d, d.sends, ""});
      continue;
    }
    // Of what the officer typed: the automatic fields (created_at: now) change every time.
    const std::string hash = content_hash(d.fields, d.note);
    if (hash == d.sent_hash) {
      if (open) work.push_back({Pending::Kind::kAsk, d, d.sends, ""});
      continue;
    }
    if (open) work.push_back({Pending::Kind::kWithdraw, d, d.sends, ""});  // the old revision
    if (d.record_id.empty()) {
      // Fixed (and kept) before it is first sent: a resend after a lost answer names the
      // same record, and a record the office makes of it is recognised here.
      d.record_id = new_record_id();
      const std::string rid = d.record_id;
      drafts.update(d.id, [&](Draft& x) {
        if (x.record_id.empty()) x.record_id = rid;
      });
    }
    work.push_back({Pending::Kind::kSend, d, d.sends + 1, hash});
  }
  if (work.empty()) return summary;

  try {
    ApiClient api(url, lap.token(), options);
    for (size_t at = 0; at < work.size(); at += kDraftsPerRequest) {
      const size_t end = std::min(work.size(), at + kDraftsPerRequest);
      Json items = Json::array();
      for (size_t i = at; i < end; ++i) {
        const Pending& p = work[i];
        Json item{{"draft", p.draft.id}, {"rev", p.rev}};
        if (p.kind == Pending::Kind::kWithdraw) item["withdraw"] = true;
        if (p.kind == Pending::Kind::kSend) {
          item["record_id"] = p.draft.record_id;
          item["collection"] = cs.name();
          item["fields"] = office_fields(lap, p.draft);
          item["note"] = p.draft.note;
        }
        items.push_back(std::move(item));
      }
      const Json answer = api.post("/v1/drafts", Json{{"drafts", std::move(items)}});
      const Json& got = answer.at("drafts");
      for (size_t i = at; i < end && i - at < got.size(); ++i) {
        const Pending& p = work[i];
        const Json& a = got[i - at];
        const std::string status = a.value("status", "");
        const std::string name = title_of(lap, p.draft);
        if (p.kind == Pending::Kind::kWithdraw) {
          // Taken back, or decided before it could be: either way the office has its answer.
          drafts.withdrawn({p.draft.id, p.rev});
          if (status == "withdrawn") summary["withdrawn"] = summary["withdrawn"].get<int>() + 1;
          // A draft still on the laptop no longer has that entry at the office (a revision
          // sent in the same request, answered next, gives it its new one).
          const std::string gone = a.value("id", "");
          drafts.update(p.draft.id, [&](Draft& x) {
            if (x.office_id != gone) return;
            x.office_id.clear();
            x.office_status.clear();
          });
          continue;
        }
        if (a.contains("error")) {
          const std::string detail = printable(a["error"].value("message", ""));
          drafts.update(p.draft.id, [&](Draft& x) {
            x.office_status = "refused";
            x.office_note = detail;
            x.sent_hash = p.hash;  // not sent again until the officer changes it
            x.sends = p.rev;
          });
          summary["not_taken"] = summary["not_taken"].get<int>() + 1;
          say("drafts.office_not_taken", {{"id", p.draft.id}, {"name", name}, {"detail", detail}});
        } else if (status == "open") {
          if (p.kind == Pending::Kind::kSend) {
            drafts.update(p.draft.id, [&](Draft& x) {
              x.office_id = a.value("id", "");
              x.office_status = "open";
              x.office_note.clear();
              x.sent_hash = p.hash;
              x.sends = p.rev;
            });
            summary["sent"] = summary["sent"].get<int>() + 1;
            say("drafts.office_sent", {{"id", p.draft.id}, {"name", name}});
          }
        } else if (status == "applied") {
          // Its record is pulled where it lies in this laptop's regions (else it went
          // elsewhere: the reviewer corrected the village).
          const bool here = static_cast<bool>(lap.store().get(cs.name(), p.draft.record_id, true));
          drafts.remove(p.draft.id, /*decided=*/true);
          summary["applied"] = summary["applied"].get<int>() + 1;
          say("drafts.office_applied", {{"id", p.draft.id},
                                        {"name", name},
                                        {"record", short_id(p.draft.record_id)},
                                        {"outside", here ? "" : tr("drafts.office_outside")}});
        } else if (status == "dismissed" || status == "withdrawn") {
          const std::string note = printable(a.value("note", Json("")).is_string() &&
                                                     !a["note"].get<std::string>().empty()
                                                 ? a["note"].get<std::string>()
                                                 : tr("drafts.no_note"));
          drafts.update(p.draft.id, [&](Draft& x) {
            x.office_id = a.value("id", x.office_id);
            x.office_status = "dismissed";
            x.office_note = note;
            x.sent_hash = p.kind == Pending::Kind::kSend ? p.hash : x.sent_hash;
            x.sends = p.rev;
          });
          summary["dismissed"] = summary["dismissed"].get<int>() + 1;
          say("drafts.office_dismissed", {{"id", p.draft.id}, {"name", name}, {"note", note}});
        } else if (status == "unknown") {
          // The office no longer has it (its data restored from an older copy): sent whole
          // again at the next sync.
          drafts.update(p.draft.id, [&](Draft& x) {
            x.office_status.clear();
            x.sent_hash.clear();
          });
        }
      }
    }
  } catch (const Error& e) {
    const std::string detail = printable(e.what());
    summary["error"] = detail;
    if (!ctx.json) *ctx.err << tr("drafts.office_failed", {{"detail", detail}}) << "\n";
  }
  return summary;
}

}  // namespace lumbung::cli
