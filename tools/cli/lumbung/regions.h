// The laptop's regions (learnt from the server at registration and at every pull) as the
// officer meets them: enrol, edit and import-csv check a village code against them before
// writing, so an out-of-region code is refused in the officer's language, with the
// regions named, before the engine would refuse it (Error kOutOfScope, in English).
#pragma once

#include <optional>
#include <string>

#include "lumbung/store.h"

namespace lumbung::cli {

// The message if `fields` (a normalised record: the village code as digits) lie outside
// the store's regions; nullopt when inside, when the regions are not known yet (a laptop
// that has not talked to the server: the server still refuses), or when the collection
// has no scope field. The same rule as the engine's check (a prefix match).
std::optional<std::string> region_refusal(const Store& store, const CollectionSchema& cs,
                                          const Json& fields);

// The same message for an Error(kOutOfScope) the engine threw anyway (e.g. a record whose
// village was already outside the regions when it was written).
std::string region_refusal_text(const Store& store, const CollectionSchema& cs,
                                const std::string& village);

// True if record `id` moved out of this laptop's regions: the store hides it (get() does
// not return it) and refuses to change it. Asked through Store::update with an empty patch,
// which checks that before anything else and writes nothing.
bool moved_away(Store& store, const CollectionSchema& cs, const std::string& id);

}  // namespace lumbung::cli
