#include "laptop.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/i18n.h"
#include "lumbung/error.h"

namespace lumbung::cli {
namespace fs = std::filesystem;

namespace {

const char* kConfig = "config.json";
const char* kSchema = "schema.json";
const char* kStoreFile = "lumbung.db";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kStorage, tr("laptop.cannot_read", {{"path", path}}));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw Error(ErrorCode::kStorage, tr("laptop.cannot_write", {{"path", tmp}}));
  }
  fs::rename(tmp, path);
}

// "lap-" + 8 characters of Crockford base32 from the OS random source: 40 bits, enough
// that two laptops of one programme do not collide (the server refuses a taken id anyway).
std::string new_device_id() {
  static const char* alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
  std::random_device rd;
  std::string id = "lap-";
  for (int i = 0; i < 8; ++i) id.push_back(alphabet[rd() % 32]);
  return id;
}

// The officer's passphrase for an encrypted store, from the environment (a prompt would
// break scripts; the field laptop's login profile sets it). "" = unencrypted store.
std::string passphrase() {
  const char* p = std::getenv("LUMBUNG_PASSPHRASE");
  return p ? p : "";
}

}  // namespace

std::string default_schema_path() {
  if (const char* env = std::getenv("LUMBUNG_SCHEMA"); env && *env) return env;
  return LUMBUNG_DEFAULT_SCHEMA;
}

std::string Laptop::choose_home(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("LUMBUNG_HOME"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.lumbung";
}

bool Laptop::exists(const std::string& home) { return fs::exists(fs::path(home) / kConfig); }

std::string Laptop::create(const std::string& home, const std::string& schema_path,
                           const Json& config) {
  if (exists(home)) throw Error(ErrorCode::kAlreadyExists, tr("init.already", {{"home", home}}));
  const std::string schema_text = read_file(schema_path);
  auto schema = Schema::parse(Json::parse(schema_text));  // refuse a broken file before writing
  fs::create_directories(home);
  // Personal data lives here: only the officer's account may read it.
  ::chmod(home.c_str(), 0700);
  write_file_atomic((fs::path(home) / kSchema).string(), schema_text);
  const std::string device = new_device_id();
  OpenOptions o;
  o.path = (fs::path(home) / kStoreFile).string();
  o.schema = schema;
  o.device_id = device;
  o.passphrase = passphrase();
  Store::open(o);
  Json c = config;
  c["device_id"] = device;
  if (!c.contains("collection")) c["collection"] = schema->collections().front().name();
  // The config is written last: a laptop "exists" only once everything else is in place.
  write_file_atomic((fs::path(home) / kConfig).string(), c.dump(2) + "\n");
  return device;
}

Laptop::Laptop(std::string home) : home_(std::move(home)) {
  if (!exists(home_)) {
    throw Error(ErrorCode::kInvalidArgument, tr("laptop.not_init", {{"home", home_}}));
  }
  config_ = Json::parse(read_file((fs::path(home_) / kConfig).string()), nullptr, false);
  if (!config_.is_object()) {
    throw Error(ErrorCode::kCorrupt, tr("laptop.bad_config", {{"path", home_ + "/" + kConfig}}));
  }
  OpenOptions o;
  o.path = (fs::path(home_) / kStoreFile).string();
  o.schema = Schema::load_file((fs::path(home_) / kSchema).string());
  o.device_id = config_.value("device_id", std::string());
  o.passphrase = passphrase();
  store_ = Store::open(o);
  const std::string col = config_.value("collection", std::string());
  collection_ = col.empty() ? &o.schema->collections().front() : o.schema->collection(col);
  if (!collection_) {
    throw Error(ErrorCode::kUnknownCollection, tr("laptop.bad_collection", {{"name", col}}));
  }
}

void Laptop::save_config() {
  write_file_atomic((fs::path(home_) / kConfig).string(), config_.dump(2) + "\n");
}

std::string Laptop::officer() const {
  std::string o = config_.value("officer", std::string());
  return o.empty() ? store_->device_id() : o;
}

bool Laptop::register_if_needed(Transport& transport) {
  if (registered()) return false;
  const std::string code = store_->get_secret("enrol_code");
  if (code.empty()) throw Error(ErrorCode::kUnauthorized, tr("laptop.no_code"));
  SyncClient client(*store_, transport, "");
  std::string name = label();
  if (name.empty()) name = store_->device_id();
  const std::string token = client.register_device(code, name);
  store_->set_secret("device_token", token);
  store_->set_secret("enrol_code", "");
  return true;
}

}  // namespace lumbung::cli
