#include "regions.h"

#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "lumbung/error.h"

namespace lumbung::cli {

std::string region_refusal_text(const Store& store, const CollectionSchema& cs,
                                const std::string& village) {
  const FieldDef* f = cs.field(cs.scope_field());
  return tr("region.outside", {{"label", f ? field_label(*f) : cs.scope_field()},
                               {"village", printable(dotted_region(village))},
                               {"regions", regions_text(store.regions())}});
}

std::optional<std::string> region_refusal(const Store& store, const CollectionSchema& cs,
                                          const Json& fields) {
  if (cs.scope_field().empty() || !fields.is_object()) return std::nullopt;
  const std::vector<std::string> regions = store.regions();
  if (regions.empty()) return std::nullopt;
  auto it = fields.find(cs.scope_field());
  if (it == fields.end() || !it->is_string()) return std::nullopt;
  const std::string& village = it->get_ref<const std::string&>();
  for (const auto& p : regions) {
    if (village.compare(0, p.size(), p) == 0) return std::nullopt;
  }
  return region_refusal_text(store, cs, village);
}

bool moved_away(Store& store, const CollectionSchema& cs, const std::string& id) {
  try {
    store.update(cs.name(), id, Json::object());
  } catch (const Error& e) {
    return e.code() == ErrorCode::kOutOfScope;
  }
  return false;
}

}  // namespace lumbung::cli
