// Drafts a field officer keeps for review (POST /v1/drafts): a person whose KTP contradicts
// itself (the NIK's birth date or gender against the card's) cannot be enrolled as a record,
// and must not be turned away either. The laptop sends the form, the officer's note and the
// record id it will have; the server keeps it in the refused queue as code held_for_review,
// where a reviewer corrects and applies it (RefusedQueue::apply: a new server op, which every
// laptop of the region pulls, the officer's among them) or dismisses it with a note the
// officer's next sync reads back. Nothing of it enters the oplog until a reviewer applies it.
#include <algorithm>
#include <cctype>

#include "api/problem.h"
#include "lumbung/changeset.h"
#include "lumbung/error.h"
#include "review/refused_queue.h"

namespace lumbung::server {
namespace {

constexpr const char* kHeldForReview = "held_for_review";

// What the officer may send as a draft id ("D7") and a record id (the UUID the laptop made).
bool plain_id(const std::string& s, size_t max, bool draft) {
  if (s.empty() || s.size() > max) return false;
  if (draft && s[0] != 'D') return false;
  return std::all_of(s.begin(), s.end(), [&](unsigned char c) {
    return draft ? (c == 'D' || std::isdigit(c)) : (std::isxdigit(c) || c == '-');
  });
}

// A check the KTP itself can fail (the NIK's date or gender against the card's): only these
// may stand in a held draft. Anything else (a missing field, a wrong type, an unknown
// field) the officer can fix on the laptop.
bool ktp_mismatch(const ValidationIssue& i) {
  return i.reason.rfind("nik_", 0) == 0 && i.reason.find("_mismatch") != std::string::npos;
}

// Throws Error(kInvalidArgument) unless `item` is one of the three forms of an item
// (refused_queue.h hold_drafts).
void check_item_shape(const Json& item) {
  if (!item.is_object()) throw Error(ErrorCode::kInvalidArgument, "each draft is an object");
  for (const auto& [k, v] : item.items()) {
    if (k != "draft" && k != "rev" && k != "record_id" && k != "collection" && k != "fields" &&
        k != "note" && k != "withdraw") {
      throw Error(ErrorCode::kInvalidArgument, "unknown draft member \"" + k + "\"");
    }
  }
  const Json draft = item.value("draft", Json());
  const Json rev = item.value("rev", Json());
  if (!draft.is_string() || !plain_id(draft.get<std::string>(), 12, true) ||
      !rev.is_number_unsigned() || rev.get<uint64_t>() == 0 || rev.get<uint64_t>() > 1000000) {
    throw Error(ErrorCode::kInvalidArgument,
                "each draft names \"draft\" (\"D<n>\") and \"rev\" (a number from 1)");
  }
  if (item.contains("withdraw") && (!item["withdraw"].is_boolean() || item.contains("fields"))) {
    throw Error(ErrorCode::kInvalidArgument,
                "\"withdraw\" is true or false, and a withdrawn draft carries no \"fields\"");
  }
  if (!item.contains("fields")) {
    if (item.contains("record_id") || item.contains("collection") || item.contains("note")) {
      throw Error(ErrorCode::kInvalidArgument,
                  "\"record_id\", \"collection\" and \"note\" come with \"fields\"");
    }
    return;
  }
  const Json rid = item.value("record_id", Json());
  const Json col = item.value("collection", Json());
  const Json note = item.value("note", Json(""));
  if (!rid.is_string() || !plain_id(rid.get<std::string>(), 64, false) || !col.is_string() ||
      !item["fields"].is_object() || !note.is_string() ||
      note.get_ref<const std::string&>().size() > 1000) {
    throw Error(ErrorCode::kInvalidArgument,
                "a draft sent whole has \"record_id\" (its UUID), \"collection\", \"fields\" "
                "(an object) and \"note\" (at most 1000 bytes)");
  }
}

Json item_error(ErrorCode code, const std::string& message, const std::string& field = {}) {
  Json e{{"code", error_code_name(code)}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  return e;
}

// The answer for an entry that exists: its status and, once decided, the decision.
Json entry_state(const RefusedRow& row) {
  Json out{{"id", row.id}, {"status", row.status}};
  if (row.resolution.is_object()) {
    const Json& r = row.resolution;
    if (r.value("action", "") == "withdrawn") out["status"] = "withdrawn";
    if (r.contains("note")) out["note"] = r["note"];
    if (r.contains("at_ms")) out["at_ms"] = r["at_ms"];
    if (r.contains("by") && r["by"].is_object()) out["by"] = r["by"].value("label", "");
  }
  return out;
}

}  // namespace

void check_held_draft_applicable(WriteTxn& txn, const RefusedRow& row) {
  if (row.code != kHeldForReview) return;
  if (row.resolution.is_object() && row.resolution.value("action", "") == "withdrawn") {
    throw ProblemError(ErrorCode::kAlreadyExists,
                       "the field officer withdrew this draft (completed or deleted it on the "
                       "laptop); there is nothing to apply",
                       Json{{"reason", "withdrawn"}});
  }
  if (txn.load_record(row.collection, row.record_id)) {
    throw ProblemError(ErrorCode::kAlreadyExists,
                       "the field officer has since saved this person as a record; dismiss "
                       "this draft and review the record instead",
                       Json{{"reason", "record_exists"}});
  }
}

Json RefusedQueue::hold_drafts(const Principal& who, const Json& body) {
  if (!body.is_object() || body.size() != 1 || !body.contains("drafts") ||
      !body["drafts"].is_array()) {
    throw Error(ErrorCode::kInvalidArgument, "body must be {\"drafts\": [...]}");
  }
  const Json& items = body["drafts"];
  if (items.size() > kMaxDraftsPerRequest) {
    throw Error(ErrorCode::kInvalidArgument,
                "at most " + std::to_string(kMaxDraftsPerRequest) + " drafts a request");
  }
  // A bound on what one laptop keeps open in the office's queue (a hostile device cannot
  // fill it): the open entries of the device, of any code, counted before this request.
  ReviewQuery open;
  open.device = who.device_id;
  open.limit = 1;
  uint64_t open_now = store_.list_refused(open).total;

  // The whole body's shape first: a malformed item refuses the request before any item
  // is kept.
  for (const Json& item : items) check_item_shape(item);

  Json answers = Json::array();
  for (const Json& item : items) {
    const std::string draft = item["draft"].get<std::string>();
    const uint64_t rev = item["rev"].get<uint64_t>();
    // One entry per draft and revision of this device: a resend after a lost answer finds it.
    const std::string id = who.device_id + ":" + draft + "." + std::to_string(rev);
    Json answer{{"draft", draft}, {"rev", rev}, {"id", id}};
    const bool withdraw = item.value("withdraw", Json(false)) == Json(true);
    const bool submit = item.contains("fields");

    auto txn = store_.begin_write();
    std::optional<RefusedRow> row = txn->refused(id);
    if (row && row->device != who.device_id) row.reset();  // never another device's
    if (withdraw) {
      if (!row) {
        answer["status"] = "withdrawn";  // never arrived: nothing to take back
      } else if (row->status != "open") {
        answer.update(entry_state(*row));
      } else {
        Json resolution{{"by", {{"role", "device"}, {"label", who.device_id}}},
                        {"at_ms", sync_.now_ms()},
                        {"action", "withdrawn"},
                        {"note", "withdrawn by the field officer"}};
        txn->resolve_refused(id, "dismissed", resolution);
        txn->commit();
        answer["status"] = "withdrawn";
      }
      answers.push_back(std::move(answer));
      continue;
    }
    if (row || !submit) {
      if (row) {
        answer.update(entry_state(*row));
      } else {
        answer["status"] = "unknown";  // not here (yet): the laptop sends it whole
      }
      answers.push_back(std::move(answer));
      continue;
    }

    // A new draft (or a new revision of one): checked, then kept.
    const std::string record_id = item["record_id"].get<std::string>();
    const std::string col = item["collection"].get<std::string>();
    const Json note_j = item.value("note", Json(""));
    const CollectionSchema* cs = sync_.schema().collection(col);
    if (!cs) {
      answer["error"] = item_error(ErrorCode::kUnknownCollection, "no collection \"" + col + "\"");
      answers.push_back(std::move(answer));
      continue;
    }
    Json fields = item["fields"];
    const auto issues = cs->normalize_and_validate(fields, /*partial=*/false);
    const ValidationIssue* kept = nullptr;
    const ValidationIssue* wrong = nullptr;
    for (const auto& i : issues) {
      if (ktp_mismatch(i)) {
        if (!kept) kept = &i;
      } else if (!wrong) {
        wrong = &i;
      }
    }
    std::string scope;
    if (!cs->scope_field().empty()) {
      auto it = fields.find(cs->scope_field());
      if (it != fields.end() && it->is_string()) scope = it->get<std::string>();
    }
    if (wrong) {
      answer["error"] = item_error(wrong->reason == "unknown_field" ? ErrorCode::kUnknownField
                                                                    : ErrorCode::kValidationFailed,
                                   issue_detail(*wrong), wrong->field);
    } else if (!cs->scope_field().empty() && !in_scope(scope, who.scope)) {
      answer["error"] =
          item_error(ErrorCode::kOutOfScope, "the village is outside this device's regions",
                     cs->scope_field());
    } else if (txn->load_record(col, record_id)) {
      answer["error"] =
          item_error(ErrorCode::kAlreadyExists, "a record with this id is already on the server");
    } else if (open_now >= kMaxHeldDraftsPerDevice) {
      answer["error"] = item_error(ErrorCode::kRateLimited,
                                   "this device already has " + std::to_string(open_now) +
                                       " entries open in the office's queue (at most " +
                                       std::to_string(kMaxHeldDraftsPerDevice) + ")");
    }
    if (answer.contains("error")) {
      answers.push_back(std::move(answer));
      continue;
    }
    sync_.writer().check_schema(*txn);
    // Kept as the create the officer would have pushed, so that apply() writes it (with the
    // reviewer's corrections) as it writes any refused op.
    Op op;
    op.seq = rev;
    op.collection = col;
    op.id = record_id;
    op.version = Version{txn->clock_now(sync_.clock()), who.device_id};
    op.set = std::move(fields);
    const std::string note = note_j.get<std::string>();
    RefusedRow r;
    r.id = id;
    r.device = who.device_id;
    r.seq = 0;  // not an op of the device's log
    r.collection = col;
    r.record_id = record_id;
    r.code = kHeldForReview;
    r.field = kept ? kept->field : "";
    r.message = (kept ? issue_detail(*kept) + ". " : std::string()) +
                (note.empty() ? std::string("Kept for review by the field officer (no note)")
                              : "Officer's note: " + note);
    r.op_text = encode_op_text(op, /*with_device=*/true, op.set.dump());
    r.scope = scope;
    r.found_ms = sync_.now_ms();
    txn->insert_refused(r);
    txn->commit();
    ++open_now;
    answer["status"] = "open";
    answers.push_back(std::move(answer));
  }
  return Json{{"drafts", std::move(answers)}};
}

}  // namespace lumbung::server
