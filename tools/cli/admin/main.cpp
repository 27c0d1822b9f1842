// lumbung-admin: the central office's tool. Everything goes through lumbung-server's HTTP
// API with an admin (or reviewer) token — it never opens the server's database, so it
// works from any desk that can reach the server — except `migrate` (migrate.cpp), which
// copies a stopped SQLite server's database into PostgreSQL on the server's machine.
// `lumbung-admin help` is the reference.
//
// This file: the shared helpers, codes, tokens, audit, devices, and the dispatch; review.cpp
// (conflicts, duplicates), reports.cpp (progress, export), refused.cpp (refused changes).
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "admin.h"
#include "common/exit_codes.h"
#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "common/trust.h"
#include "lumbung/error.h"

using namespace lumbung;
using namespace lumbung::cli;
using namespace lumbung::cli::admin;

namespace {

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kInvalidArgument, tr("admin.token_file", {{"path", path}}));
  std::string t;
  std::getline(in, t);
  return trim(t);
}

}  // namespace

namespace lumbung::cli::admin {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string join(const Json& arr, const char* sep) {
  std::string out;
  for (const auto& v : arr) out += (out.empty() ? "" : sep) + value_text(v);
  return out;
}

std::optional<int64_t> opt_ms(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

ListPages read_pages(Admin& a, const std::string& target, const char* key, size_t limit,
                     const std::string& after, bool all_pages) {
  ListPages out;
  std::string from = after;
  const std::string sep = target.find('?') == std::string::npos ? "?" : "&";
  for (int page = 0; page < (all_pages ? kMaxListPages : 1); ++page) {
    std::string query;
    if (limit > 0) query += "&limit=" + std::to_string(limit);
    if (!from.empty()) query += "&after=" + url_encode(from);
    Json r = a.api->get(query.empty() ? target : target + sep + query.substr(1));
    for (auto& e : r[key]) out.entries.push_back(std::move(e));
    if (auto it = r.find("total"); it != r.end() && it->is_number_unsigned()) {
      out.total = it->get<uint64_t>();
    }
    out.next = r.value("next", "");
    if (out.next.empty()) break;
    from = out.next;
  }
  return out;
}

PageOptions page_options(Args& args) {
  PageOptions o;
  if (const auto l = args.value("limit")) {
    try {
      o.limit = static_cast<size_t>(std::stoul(*l));
    } catch (const std::exception&) {
      throw Error(ErrorCode::kInvalidArgument, tr("usage.bad_number", {{"opt", "--limit"}}));
    }
  }
  o.after = args.value("after").value_or("");
  o.all_pages = args.flag("all-pages");
  return o;
}

void print_more(Admin& a, const ListPages& p, bool all_pages) {
  if (p.next.empty()) return;
  const std::string shown = group_number(static_cast<int64_t>(p.entries.size()));
  const std::string total = p.total ? group_number(static_cast<int64_t>(*p.total)) : "?";
  *a.out << tr(all_pages ? "admin.list_cut" : "admin.list_more",
               {{"shown", shown},
                {"total", total},
                {"next", printable(p.next)},
                {"n", std::to_string(kMaxListPages)}})
         << "\n";
}

Json find_entry(Admin& a, const std::string& target, const char* key, const std::string& ref,
                const std::string& what) {
  Json found;
  int n = 0;
  std::string after;
  // Every page (a match may be anywhere), bounded like read_pages.
  for (int page = 0; page < kMaxListPages; ++page) {
    const ListPages p = read_pages(a, target, key, 0, after, false);
    for (const auto& e : p.entries) {
      const std::string id = e.value("id", std::string());
      if (id == ref) return e;
      if (ref.size() >= 4 && id.compare(0, ref.size(), ref) == 0) {
        found = e;
        ++n;
      }
    }
    after = p.next;
    if (after.empty()) break;
  }
  if (n == 1) return found;
  if (n > 1)
    throw Error(ErrorCode::kInvalidArgument, tr("admin.ambiguous", {{"ref", ref}, {"what", what}}));
  throw Error(ErrorCode::kNotFound, tr("admin.not_found", {{"ref", ref}, {"what", what}}));
}

std::string field_name_text(Admin& a, const std::string& collection, const std::string& field) {
  const CollectionSchema* cs = a.server_schema().collection(collection);
  const FieldDef* f = cs ? cs->field(field) : nullptr;
  return f ? field_label(*f) : field;
}

// --- codes, tokens, devices -------------------------------------------------------------

int codes(Admin& a, Args& args) {
  const std::string verb = args.next();
  if (verb == "revoke") {
    const std::string id = args.next();
    args.finish();
    if (id.empty()) throw Error(ErrorCode::kInvalidArgument, tr("admin.need_code_id"));
    Json r = a.api->call("POST", "/v1/admin/codes/" + url_encode(id) + "/revoke");
    if (a.json) {
      print_json(*a.out, r);
    } else {
      *a.out << tr("admin.code_revoked", {{"id", printable(id)}}) << "\n";
      if (r.value("used", false)) {
        *a.out << tr("admin.code_revoked_used",
                     {{"device", printable(r.value("used_by", std::string()))}})
               << "\n";
      }
    }
    return kExitOk;
  }
  if (verb != "create")
    throw Error(ErrorCode::kInvalidArgument,
                tr("usage.unknown_command", {{"cmd", "codes " + verb}}));
  const auto scope = args.value("scope");
  const auto label = args.value("label");
  const auto hours = args.value("expires-hours");
  // A code for one registered laptop: re-enrols it (a revoked or re-issued laptop).
  const auto device = args.value("device");
  // The address laptops reach the server at, when it differs from the office's own.
  const std::string laptop_server = args.value("laptop-server").value_or(a.api->base_url());
  args.finish();
  if (!scope && !device) throw Error(ErrorCode::kInvalidArgument, tr("admin.need_scope"));
  Json body = Json::object();  // a code for a device without --scope keeps its regions
  if (scope) body["scope"] = split_commas(*scope);
  if (label) body["label"] = *label;
  if (hours) body["expires_in_hours"] = std::stoi(*hours);
  if (device) body["device_id"] = *device;
  Json r = a.api->post("/v1/admin/codes", body);
  // One text for the laptop: the code, the address and the key pin (common/trust.h). The
  // pin is the server's own answer (over the connection this tool already trusts), else
  // the one this tool was given.
  SetupCode setup{r.value("code", ""), laptop_server, ""};
  if (laptop_server.compare(0, 8, "https://") == 0) {
    setup.pin = r.value("tls_pin_sha256", a.pin);
  }
  r["setup_code"] = format_setup_code(setup);
  if (a.json) {
    print_json(*a.out, r);
  } else {
    *a.out << tr("admin.code_made", {{"code", r.value("code", "")},
                                     {"scope", join(r["scope"], ", ")},
                                     {"expires", local_time(opt_ms(r, "expires_ms"))}})
           << "\n"
           << tr("admin.code_id", {{"id", r.value("id", "")}}) << "\n";
    if (r.contains("device_id")) {
      *a.out << tr("admin.code_for_device", {{"device", r.value("device_id", "")}}) << "\n";
    }
    *a.out << tr("admin.setup_code", {{"setup", r.value("setup_code", "")}}) << "\n";
  }
  return kExitOk;
}

int tokens(Admin& a, Args& args) {
  const std::string verb = args.next();
  if (verb == "list" || verb == "revoke") return token_list_or_revoke(a, verb, args);
  if (verb != "create")
    throw Error(ErrorCode::kInvalidArgument,
                tr("usage.unknown_command", {{"cmd", "tokens " + verb}}));
  const std::string role = args.value("role").value_or("reviewer");
  const auto label = args.value("label");
  const auto scope = args.value("scope");  // a reviewer's regions: 74.02,73
  const auto hours = args.value("expires-hours");
  args.finish();
  Json body{{"role", role}};
  if (label) body["label"] = *label;
  if (scope) body["scope"] = split_commas(*scope);
  if (hours) body["expires_in_hours"] = std::stoi(*hours);
  Json r = a.api->post("/v1/admin/tokens", body);
  if (a.json) {
    print_json(*a.out, r);
  } else {
    *a.out << tr("admin.token_made", {{"role", role}, {"token", r.value("token", "")}}) << "\n";
    const Json regions = r.value("scope", Json::array());
    if (role == "reviewer") {
      *a.out << (regions.empty() ? tr("admin.token_every_region")
                                 : tr("admin.token_regions", {{"scope", join(regions, ", ")}}))
             << "\n";
    }
    *a.out << tr("admin.token_expires",
                 {{"id", r.value("id", "")}, {"expires", local_time(opt_ms(r, "expires_ms"))}})
           << "\n";
  }
  return kExitOk;
}

// The audit log's keyed chain and signed checkpoints, checked by the server
// (GET /v1/admin/audit/verify; POST with the operator's checkpoint file from
// `audit checkpoint --out FILE`, server/src/audit/audit_log.h).
int audit(Admin& a, Args& args) {
  const std::string verb = args.next();
  if (verb == "verify") {
    const auto checkpoint_file = args.value("checkpoint");
    args.finish();
    Json r;
    if (checkpoint_file) {
      std::ifstream in(*checkpoint_file, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      Json held = Json::parse(text.str(), nullptr, false);
      if (!in || held.is_discarded() || !held.is_object()) {
        throw Error(ErrorCode::kInvalidArgument,
                    tr("admin.audit_checkpoint_unreadable", {{"path", *checkpoint_file}}));
      }
      r = a.api->post("/v1/admin/audit/verify", Json{{"checkpoint", std::move(held)}});
    } else {
      r = a.api->get("/v1/admin/audit/verify");
    }
    const bool ok = r.value("ok", false);
    if (a.json) {
      print_json(*a.out, r);
    } else if (ok) {
      const Json head = r.value("head", Json::object());
      *a.out << tr("admin.audit_ok", {{"n", value_text(r.value("entries", Json(0)))},
                                      {"seq", value_text(head.value("seq", Json(0)))},
                                      {"hash", head.value("hash", std::string())}})
             << "\n";
      if (checkpoint_file) {
        *a.out << tr("admin.audit_checkpoint_held_ok",
                     {{"count", value_text(r["held_checkpoint"].value("count", Json(0)))}})
               << "\n";
      }
    } else {
      const Json bad = r.value("first_bad", Json::object());
      *a.out << tr("admin.audit_bad", {{"seq", value_text(bad.value("seq", Json(0)))},
                                       {"reason", printable(bad.value("reason", std::string()))}})
             << "\n";
      const Json problems = r.value("problems", Json::array());
      for (size_t i = 1; i < problems.size(); ++i) {
        *a.out << "  #" << value_text(problems[i].value("seq", Json(0))) << ": "
               << printable(problems[i].value("reason", std::string())) << "\n";
      }
    }
    return ok ? kExitOk : kExitError;
  }
  if (verb == "checkpoint") {
    const auto out_file = args.value("out");
    args.finish();
    const Json cp = a.api->call("POST", "/v1/admin/audit/checkpoint");
    if (out_file) {
      std::ofstream out(*out_file, std::ios::binary | std::ios::trunc);
      out << cp.dump(2) << "\n";
      out.close();
      if (!out) {
        throw Error(ErrorCode::kInvalidArgument, tr("export.cannot_write", {{"path", *out_file}}));
      }
    }
    if (a.json || !out_file) {
      print_json(*a.out, cp);
    } else {
      *a.out << tr("admin.audit_checkpoint_made",
                   {{"count", value_text(cp.value("count", Json(0)))},
                    {"head", cp.value("head", std::string())},
                    {"key", cp.value("key_id", std::string())},
                    {"path", *out_file}})
             << "\n";
    }
    return kExitOk;
  }
  if (verb == "list") {
    const auto after = args.value("after");
    const auto limit = args.value("limit");
    args.finish();
    std::string target = "/v1/admin/audit?limit=" + url_encode(limit.value_or("100"));
    if (after) target += "&after=" + url_encode(*after);
    return audit_list(a, a.api->get(target));
  }
  throw Error(ErrorCode::kInvalidArgument, tr("usage.unknown_command", {{"cmd", "audit " + verb}}));
}

}  // namespace lumbung::cli::admin

namespace {

int run(int argc, char** argv) {
  Args args(argc, argv);
  choose_language(args.value("lang").value_or(""));
  Admin a;
  a.json = args.flag("json");
  std::string server = args.value("server").value_or("");
  if (server.empty()) {
    if (const char* env = std::getenv("LUMBUNG_SERVER"); env && *env) server = env;
  }
  std::string token = args.value("token").value_or("");
  if (const auto file = args.value("token-file")) token = read_token_file(*file);
  if (token.empty()) {
    if (const char* env = std::getenv("LUMBUNG_ADMIN_TOKEN"); env && *env) token = env;
  }
  // How to trust the server: --ca-file / --pin, else LUMBUNG_CA_FILE / LUMBUNG_PIN.
  HttpTransportOptions topt = transport_options();
  if (const auto ca = args.value("ca-file")) topt.ca_file = *ca;
  if (const auto pin = args.value("pin")) topt.pin_sha256 = *pin;
  if (!topt.pin_sha256.empty()) topt.pin_sha256 = a.pin = normalise_pin(topt.pin_sha256);
  const bool want_help = args.flag("help") || args.flag("h");
  const std::string cmd = args.next();
  if (cmd.empty() || cmd == "help" || want_help) {
    (cmd.empty() && !want_help ? std::cerr : std::cout) << tr("help.admin");
    return cmd.empty() && !want_help ? kExitUsage : kExitOk;
  }
  // The one command that opens databases, not a server (migrate.cpp).
  if (cmd == "migrate") return migrate(a, args);
  if (server.empty()) throw Error(ErrorCode::kInvalidArgument, tr("admin.need_server"));
  if (token.empty()) throw Error(ErrorCode::kInvalidArgument, tr("admin.need_token"));
  a.api = std::make_unique<ApiClient>(server, token, topt);
  if (cmd == "codes") return codes(a, args);
  if (cmd == "tokens") return tokens(a, args);
  if (cmd == "devices") return devices(a, args);
  if (cmd == "conflicts") return conflicts(a, args);
  if (cmd == "duplicates") return duplicates(a, args);
  if (cmd == "progress") return progress(a, args);
  if (cmd == "export") return export_cmd(a, args);
  if (cmd == "audit") return audit(a, args);
  if (cmd == "refused") return refused(a, args);
  if (cmd == "schema") return schema(a, args);
  throw Error(ErrorCode::kInvalidArgument, tr("usage.unknown_command", {{"cmd", cmd}}));
}

}  // namespace

namespace {
int main_impl(int argc, char** argv);
}

// The exit code is decided before static teardown, and the process leaves with _Exit:
// cpprestsdk's static thread pool may still be finishing a connect attempt to a server that
// is gone, and tearing it down under it can abort (seen under ASan as exit 134 after a sync
// that correctly gave up with exit 5). Every store was closed when its command returned.
int main(int argc, char** argv) {
  const int code = main_impl(argc, argv);
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(code);
}

namespace {
int main_impl(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::cerr << "lumbung-admin: ";
    switch (e.code()) {
      case ErrorCode::kTransport:
        std::cerr << tr(
            tls_refusal(e) == TlsRefusal::kNone ? "admin.unreachable" : "admin.tls_refused",
            {{"detail", printable(e.what())}});
        break;
      case ErrorCode::kUnauthorized:
        std::cerr << tr("admin.unauthorized", {{"detail", error_text(e)}});
        break;
      case ErrorCode::kForbidden:
        std::cerr << tr("admin.forbidden", {{"detail", printable(e.what())}});
        break;
      default:
        std::cerr << error_text(e);
    }
    std::cerr << "\n";
    if (e.code() == ErrorCode::kInvalidArgument) std::cerr << tr("admin.see_help") << "\n";
    return exit_code_for(e.code());
  } catch (const std::exception& e) {
    std::cerr << "lumbung-admin: " << printable(e.what()) << "\n";
    return kExitError;
  }
}

}  // namespace
