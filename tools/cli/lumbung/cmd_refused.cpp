// refused: the changes of this laptop that the server acknowledged but did not apply (out
// of the laptop's regions, not valid by the server's rules, ...). They are kept at the
// central office in its refused queue, where someone applies them (corrected if need be)
// or closes them; they never hold up the laptop's other changes. This command tells the
// officer, per change, what is wrong in plain words and what to do next.
#include <iostream>

#include "commands.h"
#include "common/exit_codes.h"
#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "laptop.h"
#include "lumbung/error.h"
#include "record_view.h"
#include "regions.h"

namespace lumbung::cli {
namespace {

// Default entries shown; --limit 0 shows all. JSON output is never cut.
constexpr size_t kDefaultRefusedRows = 100;

struct Explained {
  std::string title;  // the person's name, "" if unknown
  bool on_laptop = false;
  std::string reason;                // what is wrong, in the current language
  std::string typed;                 // the refused value of the field at fault, "" if none
  std::string todo;                  // what the officer does next
  bool show_server_message = false;  // the reason above is generic: show the server's words
};

std::string label_of(const CollectionSchema* cs, const std::string& field) {
  const FieldDef* f = cs ? cs->field(field) : nullptr;
  return f ? field_label(*f) : printable(field);
}

Explained explain(Store& store, const RefusedChange& rc) {
  Explained x;
  const CollectionSchema* cs = store.schema().collection(rc.collection);
  std::optional<Record> rec;
  if (cs) rec = store.get(rc.collection, rc.record_id);
  x.on_laptop = rec.has_value();
  if (rec) x.title = record_title(*cs, rec->fields);
  const std::string id = short_id(rc.record_id);
  if (rc.set.is_object() && !rc.field.empty()) {
    if (auto it = rc.set.find(rc.field); it != rc.set.end() && !it->is_null()) {
      x.typed = label_of(cs, rc.field) + " = " +
                printable(it->is_string() ? it->get<std::string>() : it->dump());
    }
  }

  if (rc.code == "out_of_scope") {
    const std::string scope_field = cs ? cs->scope_field() : std::string();
    const Json* village = nullptr;
    if (rec && !scope_field.empty()) {
      auto it = rec->fields.find(scope_field);
      if (it != rec->fields.end() && it->is_string()) village = &*it;
    }
    // The record's village (as this laptop has it) is outside the regions, or the regions
    // are not known: the village code is the problem. Otherwise the record is outside on the
    // server only: someone moved it while this change was on its way.
    if (village && (store.regions().empty() || region_refusal(store, *cs, rec->fields))) {
      x.reason = tr("refused.out_of_scope",
                    {{"label", label_of(cs, scope_field)},
                     {"village", printable(dotted_region(village->get<std::string>()))},
                     {"regions", store.regions().empty() ? "-" : regions_text(store.regions())}});
      x.todo = tr("refused.out_of_scope_todo", {{"id", id}, {"field", scope_field}});
    } else {
      x.reason = tr("refused.moved");
      x.todo = tr("refused.moved_todo");
    }
    return x;
  }
  if (rc.code == "validation_failed") {
    // The server refuses a change to a record whose enrolment it refused before (its own
    // words, PROTOCOL.md): the change waits with that enrolment.
    if (rc.field.empty() && rc.message.find("creation was refused") != std::string::npos) {
      x.reason = tr("refused.creation_refused");
      x.todo = tr("refused.creation_refused_todo");
      return x;
    }
    // The record as this laptop has it, checked whole: the engine's own issue, translated,
    // says best what is wrong.
    if (rec) {
      // With the values the change wrote: the record holds the server's since the refusal.
      Json fields = rec->fields;
      if (rc.set.is_object()) {
        for (const auto& [f, v] : rc.set.items()) {
          if (cs->field(f)) fields[f] = v;
        }
      }
      const auto issues = cs->normalize_and_validate(fields, false);
      const ValidationIssue* pick = nullptr;
      for (const auto& i : issues) {
        if (!pick || (i.field == rc.field && pick->field != rc.field)) pick = &i;
      }
      if (pick) x.reason = tr("refused.invalid", {{"issue", issue_text(*pick, *cs, &fields)}});
    }
    if (x.reason.empty()) {
      x.show_server_message = true;
      x.reason = rc.field.empty()
                     ? tr("refused.invalid", {{"issue", printable(rc.message)}})
                     : tr("refused.invalid_field", {{"label", label_of(cs, rc.field)}});
    }
    x.todo = rec && !rc.field.empty()
                 ? tr("refused.invalid_todo", {{"id", id}, {"field", rc.field}})
                 : tr("refused.office_todo");
    if (rc.field.empty()) x.show_server_message = false;  // already quoted in the reason
    return x;
  }
  if (rc.code == "unknown_field") {
    x.reason = tr("refused.unknown_field", {{"field", printable(rc.field)}});
    x.todo = tr("refused.schema_todo");
    return x;
  }
  if (rc.code == "unknown_collection") {
    x.reason = tr("refused.unknown_collection", {{"collection", printable(rc.collection)}});
    x.todo = tr("refused.schema_todo");
    return x;
  }
  if (rc.code == "rate_limited") {
    x.reason = tr("refused.rate_limited");
    x.todo = tr("refused.rate_limited_todo");
    return x;
  }
  x.reason = tr("refused.other", {{"code", printable(rc.code)}});
  x.todo = tr("refused.office_todo");
  x.show_server_message = true;
  return x;
}

}  // namespace

int cmd_refused(Context& ctx, Args& args) {
  size_t limit = kDefaultRefusedRows;
  if (const auto l = args.value("limit")) {
    try {
      limit = static_cast<size_t>(std::stoul(*l));
    } catch (const std::exception&) {
      throw Error(ErrorCode::kInvalidArgument, tr("usage.bad_number", {{"opt", "--limit"}}));
    }
  }
  args.finish();
  Laptop lap(ctx.home);
  Store& store = lap.store();
  const std::vector<RefusedChange> list = store.refused_changes();  // newest first

  if (ctx.json) {
    Json arr = Json::array();
    for (const RefusedChange& rc : list) {
      const Explained x = explain(store, rc);
      arr.push_back(Json{{"seq", rc.seq},
                         {"collection", rc.collection},
                         {"record_id", rc.record_id},
                         {"title", x.on_laptop ? Json(x.title) : Json()},
                         {"on_laptop", x.on_laptop},
                         {"code", rc.code},
                         {"field", rc.field},
                         {"message", rc.message},
                         {"reason", x.reason},
                         {"todo", x.todo},
                         {"values", rc.set},
                         {"at_ms", rc.at_ms}});
    }
    print_json(*ctx.out, Json{{"count", list.size()}, {"refused", arr}});
    return kExitOk;
  }
  auto& o = *ctx.out;
  if (list.empty()) {
    o << tr("refused.none") << "\n";
    return kExitOk;
  }
  const size_t shown = limit == 0 ? list.size() : std::min(limit, list.size());
  o << tr("refused.header", {{"n", group_number(static_cast<int64_t>(list.size()))}}) << "\n";
  for (size_t i = 0; i < shown; ++i) {
    const RefusedChange& rc = list[i];
    const Explained x = explain(store, rc);
    std::string who = x.on_laptop ? printable(x.title) : std::string();
    if (x.on_laptop) {
      who += (who.empty() ? "" : " ") + std::string("(") + short_id(rc.record_id) + ")";
    } else {
      who = tr("refused.record_gone", {{"id", printable(short_id(rc.record_id))}});
    }
    o << "\n"
      << tr("refused.entry", {{"n", std::to_string(i + 1)},
                              {"who", who},
                              {"seq", std::to_string(rc.seq)},
                              {"when", local_time(rc.at_ms)}})
      << "\n";
    o << "   " << tr("refused.reason_label") << ": " << x.reason << "\n";
    if (!x.typed.empty()) o << "   " << tr("refused.typed_label") << ": " << x.typed << "\n";
    if (x.show_server_message && !rc.message.empty()) {
      o << "   " << tr("refused.server_said") << ": " << printable(rc.message) << "\n";
    }
    o << "   " << tr("refused.todo_label") << ": " << x.todo << "\n";
  }
  o << "\n";
  if (shown < list.size()) {
    o << tr("refused.more", {{"shown", std::to_string(shown)}, {"n", std::to_string(list.size())}})
      << "\n";
  }
  o << tr("refused.footer") << "\n";
  return kExitOk;
}

}  // namespace lumbung::cli
