// `lumbung-admin tokens list` and `tokens revoke ID`: the staff tokens (reviewer and admin)
// the server knows, by GET /v1/admin/tokens and POST /v1/admin/tokens/{id}/revoke. Tokens
// themselves are never shown again: only their ids (16 hex digits of the hash).
#include "admin.h"
#include "common/exit_codes.h"
#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "lumbung/error.h"

namespace lumbung::cli::admin {

int token_list_or_revoke(Admin& a, const std::string& verb, Args& args) {
  if (verb == "revoke") {
    const std::string ref = args.next();
    args.finish();
    if (ref.empty()) throw Error(ErrorCode::kInvalidArgument, tr("admin.need_token_id"));
    // The id or a unique prefix of it (4+ characters), like every other id.
    const Json t = find_entry(a, "/v1/admin/tokens", "tokens", ref, tr("admin.what_token"));
    const std::string id = t.value("id", "");
    Json r = a.api->call("POST", "/v1/admin/tokens/" + url_encode(id) + "/revoke");
    if (a.json) {
      print_json(*a.out, r);
    } else {
      *a.out << tr("admin.token_revoked", {{"id", id},
                                           {"role", t.value("role", "")},
                                           {"label", printable(t.value("label", ""))}})
             << "\n";
    }
    return kExitOk;
  }
  args.finish();
  Json r = a.api->get("/v1/admin/tokens");
  if (a.json) {
    print_json(*a.out, r);
    return kExitOk;
  }
  if (r["tokens"].empty()) {
    *a.out << tr("admin.no_tokens") << "\n";
    return kExitOk;
  }
  const int64_t now = now_ms();
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : r["tokens"]) {
    std::vector<std::string> scope;
    for (const auto& p : t.value("scope", Json::array())) {
      if (p.is_string()) scope.push_back(p.get<std::string>());
    }
    const auto expires = opt_ms(t, "expires_ms");
    std::string state;
    if (t.value("revoked", false)) {
      state = tr("admin.revoked_word");
    } else if (expires && *expires > 0 && *expires <= now) {
      state = tr("admin.token_expired_word");
    }
    rows.push_back({t.value("id", ""), t.value("role", ""), printable(t.value("label", "")),
                    scope.empty() ? "-" : regions_text(scope), local_time(opt_ms(t, "created_ms")),
                    expires && *expires > 0 ? local_time(expires) : tr("admin.no_expiry"), state});
  }
  print_table(*a.out,
              {tr("admin.col.token"), tr("admin.col.role"), tr("admin.col.label"),
               tr("admin.col.scope"), tr("admin.col.made"), tr("admin.col.expires"), ""},
              rows, 30);
  return kExitOk;
}

}  // namespace lumbung::cli::admin
