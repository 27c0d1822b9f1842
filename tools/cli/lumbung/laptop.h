// The field laptop's state, all in one directory (--home DIR, else $LUMBUNG_HOME, else
// ~/.lumbung), made by `lumbung init`:
//
//   config.json   {"server": URL, "officer": ID, "label": TEXT, "collection": NAME}
//   schema.json   the schema this laptop validates with (copied at init)
//   lumbung.db    the engine's Store (records, change log, conflicts, meta)
//
// The device id is made at init ("lap-" + 8 base32 characters) and is the Store's device
// id. The device token the server issues is a Store secret ("device_token"); an enrolment
// code given while offline waits there too ("enrol_code") until the first sync registers
// the laptop. Secrets and personal data are encrypted at rest, and what stays in clear is
// integrity-protected, because the store is made with the officer's passphrase (asked at
// `init`, then needed by every command; see "The passphrase" below). A store without one
// is made only with `init --unencrypted`, which warns: the store, and so the token, is then
// plain (tests, demos).
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "lumbung/store.h"
#include "lumbung/sync.h"

namespace lumbung::cli {

class Laptop {
 public:
  // The state directory chosen by flag, environment or default.
  static std::string choose_home(const std::string& flag_value);
  // Opens an initialised laptop. Throws Error(kInvalidArgument) saying to run
  // `lumbung init` if `home` has no laptop yet.
  explicit Laptop(std::string home);

  // Creates the state directory, config, schema copy and store. `schema_path` is copied
  // into the directory. Returns the new device id. Throws Error(kAlreadyExists) if the
  // directory already holds a laptop. The store is encrypted with the officer's passphrase
  // (new_passphrase()); with none, it throws Error(kInvalidArgument) saying how to give one,
  // unless `unencrypted` (then `warn` gets a warning and the store is plain). Nothing is
  // written before the passphrase question is settled.
  static std::string create(const std::string& home, const std::string& schema_path,
                            const Json& config, bool unencrypted, std::ostream& warn);
  static bool exists(const std::string& home);

  Store& store() { return *store_; }
  const CollectionSchema& collection() const { return *collection_; }
  const std::string& home() const { return home_; }
  Json& config() { return config_; }
  void save_config();

  std::string server_url() const { return config_.value("server", std::string()); }
  std::string officer() const;
  std::string label() const { return config_.value("label", std::string()); }
  std::string token() const { return store_->get_secret("device_token"); }
  bool registered() const { return !token().empty(); }

  // Registers with the waiting enrolment code (if any and not yet registered). Returns
  // true if it registered now. Throws the server's Error (e.g. kUnauthorized) or
  // kTransport when the server cannot be reached (the code then stays for next time).
  bool register_if_needed(Transport& transport);

  // Re-enrolment of a registered laptop (revoked, or its token lost) with a code the office
  // made for this device (docs/PROTOCOL.md "POST /v1/devices/register"): the server's new
  // token replaces the old one and any half-done rotation. The store, its change log and
  // drafts stay as they are: what was not sent goes at the next sync. Throws the server's
  // Error (nothing changed then) or kTransport.
  void reenrol(Transport& transport, const std::string& code);

  // Device token rotation (docs/PROTOCOL.md "POST /v1/devices/token/rotate"). A new token
  // waits in the secret "device_token_next" from the moment the server gave it until one
  // call made with it succeeded; only then does it replace "device_token". With `start`,
  // asks the server for a new token first (unless one is already waiting); without, only
  // finishes a rotation left waiting (a cut link, a crash). Returns true if the token
  // changed now. Records, the change log and everything unsent are untouched. Throws
  // kTransport (both tokens kept: the current one still works) or the server's Error.
  bool rotate_token(Transport& transport, bool start);

 private:
  std::string home_;
  Json config_;
  std::unique_ptr<Store> store_;
  const CollectionSchema* collection_ = nullptr;
};

// A new record id, a UUIDv7 like the ones the Store makes: for writes that must know their
// record's id before it exists (an import row, a draft saved once and only once).
std::string new_record_id();

// The schema file shipped with the tools (the repository's schema/enrolment.schema.json,
// or $LUMBUNG_SCHEMA).
std::string default_schema_path();

// --- The passphrase ------------------------------------------------------------------------
// Taken, in this order, from: the global option --passphrase-fd N (one line read from that
// open descriptor: a pipe from a password manager or a script's here-string), the
// environment variable LUMBUNG_PASSPHRASE (scripts, tests), or, when stdin is a terminal, a
// prompt that does not echo. Read once per run. The tools never read it from, or advise
// keeping it in, a file (a login profile holding it would hand it to whoever takes the
// laptop along with the data it protects).
//
// Records --passphrase-fd's value (main, before any command). Throws Error(kInvalidArgument)
// if it is not a descriptor number.
void set_passphrase_fd(const std::optional<std::string>& value);

}  // namespace lumbung::cli
