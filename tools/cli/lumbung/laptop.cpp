#include "laptop.h"

#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "common/i18n.h"
#include "common/output.h"
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

// --- the passphrase (laptop.h) ---------------------------------------------------------------

// The sentences of this part, Indonesian beside English (kept here with the code that says
// them).
std::string say(const char* id, const char* en) { return language() == Lang::kEnglish ? en : id; }

constexpr size_t kMinPassphraseChars = 10;

int g_passphrase_fd = -1;
std::optional<std::string> g_passphrase;  // read once per run

// One line from `fd` (without its newline); nullopt at once-empty input.
std::optional<std::string> read_line_fd(int fd) {
  std::string line;
  char c;
  for (;;) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line.push_back(c);
    if (line.size() > 4096) break;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return std::nullopt;
  return line;
}

// Asks on the terminal (stdin) without echo; nullopt if stdin is not a terminal.
std::optional<std::string> ask_hidden(const std::string& question) {
  if (!::isatty(STDIN_FILENO)) return std::nullopt;
  // Echo off before the question appears (as getpass does), so no answer is ever shown.
  termios old{};
  const bool can_hide = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (can_hide) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::cerr << question << std::flush;
  std::optional<std::string> line = read_line_fd(STDIN_FILENO);
  if (can_hide) ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  return line ? line : std::optional<std::string>(std::string());
}

// The passphrase from --passphrase-fd or the environment, if given (read once).
std::optional<std::string> given_passphrase() {
  if (g_passphrase) return g_passphrase;
  if (g_passphrase_fd >= 0) {
    g_passphrase = read_line_fd(g_passphrase_fd);
    if (!g_passphrase) {
      throw Error(ErrorCode::kInvalidArgument,
                  say("tidak ada frasa sandi terbaca dari --passphrase-fd ",
                      "no passphrase could be read from --passphrase-fd ") +
                      std::to_string(g_passphrase_fd));
    }
    return g_passphrase;
  }
  if (const char* p = std::getenv("LUMBUNG_PASSPHRASE"); p && *p) g_passphrase = std::string(p);
  return g_passphrase;
}

// The passphrase of a new laptop: given, or typed twice at the terminal; "" if none.
std::string new_passphrase() {
  if (auto p = given_passphrase()) return *p;
  auto first =
      ask_hidden(say("Frasa sandi baru untuk laptop ini (minimal 10 karakter; tidak "
                     "tampil di layar): ",
                     "New passphrase for this laptop (at least 10 characters; not "
                     "shown): "));
  if (!first || first->empty()) return {};
  auto again = ask_hidden(say("Ketik sekali lagi: ", "Type it again: "));
  if (!again || *again != *first) {
    throw Error(ErrorCode::kInvalidArgument,
                say("kedua frasa sandi tidak sama; laptop belum dibuat",
                    "the two passphrases differ; the laptop was not made"));
  }
  g_passphrase = first;
  return *first;
}

// Opens the laptop's store: with the given passphrase, else as it is; an encrypted store
// with none given asks at the terminal (three tries).
std::unique_ptr<Store> open_store(OpenOptions o) {
  if (auto p = given_passphrase()) {
    o.passphrase = *p;
    return Store::open(o);
  }
  try {
    return Store::open(o);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kWrongPassphrase || !::isatty(STDIN_FILENO)) throw;
  }
  for (int attempt = 1;; ++attempt) {
    auto typed = ask_hidden(say("Frasa sandi laptop: ", "Laptop passphrase: "));
    o.passphrase = typed.value_or("");
    try {
      auto store = Store::open(o);
      g_passphrase = o.passphrase;
      return store;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kWrongPassphrase || attempt == 3 || o.passphrase.empty()) throw;
      std::cerr << say("Frasa sandi salah; coba lagi.", "Wrong passphrase; try again.") << "\n";
    }
  }
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
                           const Json& config, bool unencrypted, std::ostream& warn) {
  if (exists(home)) throw Error(ErrorCode::kAlreadyExists, tr("init.already", {{"home", home}}));
  const std::string schema_text = read_file(schema_path);
  auto schema = Schema::parse(Json::parse(schema_text));  // refuse a broken file before writing
  // The passphrase question is settled before anything is written (no prompt when the
  // officer asked for no encryption; a passphrase given all the same is refused below).
  const std::string pass = unencrypted ? given_passphrase().value_or("") : new_passphrase();
  if (!pass.empty() && unencrypted) {
    throw Error(ErrorCode::kInvalidArgument,
                say("--unencrypted dan frasa sandi tidak bisa dipakai bersama: pilih salah satu",
                    "--unencrypted and a passphrase do not go together: choose one"));
  }
  if (pass.empty() && !unencrypted) {
    throw Error(
        ErrorCode::kInvalidArgument,
        say("laptop ini akan menyimpan NIK, nama, penghasilan dan data pribadi lain, jadi perlu "
            "frasa sandi, dan belum ada yang diberikan. Jalankan `lumbung init` di terminal untuk "
            "mengetiknya (tidak tampil di layar), atau berikan lewat --passphrase-fd N atau "
            "LUMBUNG_PASSPHRASE. Jangan simpan frasa sandi di berkas (mis. profil login): siapa "
            "pun yang membawa laptop akan ikut membawanya. Hanya untuk uji coba: --unencrypted "
            "membuat laptop tanpa enkripsi. Laptop belum dibuat.",
            "this laptop will hold NIKs, names, incomes and other personal data, so it needs a "
            "passphrase, and none was given. Run `lumbung init` in a terminal to type it (it is "
            "not shown), or give it with --passphrase-fd N or LUMBUNG_PASSPHRASE. Do not keep "
            "the passphrase in a file (such as the login profile): whoever takes the laptop "
            "takes it too. For tests only: --unencrypted makes a laptop without encryption. "
            "Nothing was made."));
  }
  if (!pass.empty() && pass.size() < kMinPassphraseChars) {
    throw Error(ErrorCode::kInvalidArgument,
                say("frasa sandi terlalu pendek: minimal 10 karakter (frasa sandi pendek bisa "
                    "ditebak bila laptop dicuri); laptop belum dibuat",
                    "the passphrase is too short: at least 10 characters (a short one can be "
                    "guessed if the laptop is stolen); nothing was made"));
  }
  fs::create_directories(home);
  // Personal data lives here: only the officer's account may read it.
  ::chmod(home.c_str(), 0700);
  write_file_atomic((fs::path(home) / kSchema).string(), schema_text);
  const std::string device = new_device_id();
  OpenOptions o;
  o.path = (fs::path(home) / kStoreFile).string();
  o.schema = schema;
  o.device_id = device;
  o.passphrase = pass;
  Store::open(o);
  if (unencrypted) {
    warn << say("PERINGATAN: laptop ini dibuat TANPA enkripsi (--unencrypted). Data pribadi "
                "peserta dan token perangkat tersimpan terbuka di ",
                "WARNING: this laptop is made WITHOUT encryption (--unencrypted). Participants' "
                "personal data and the device token are kept in the clear in ")
         << o.path
         << say(": siapa pun yang memegang laptop atau salinan berkasnya dapat membaca dan "
                "mengubahnya tanpa ketahuan. Hanya untuk uji coba dan demo, jangan untuk "
                "pendaftaran sungguhan.",
                ": anyone holding the laptop or a copy of the file can read and change them "
                "unnoticed. For tests and demos only, never for real enrolments.")
         << "\n";
  }
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
  store_ = open_store(o);
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

void set_passphrase_fd(const std::optional<std::string>& value) {
  if (!value) return;
  char* end = nullptr;
  const long fd = std::strtol(value->c_str(), &end, 10);
  if (value->empty() || *end != '\0' || fd < 0 || fd > 1000000) {
    throw Error(ErrorCode::kInvalidArgument,
                say("--passphrase-fd perlu nomor deskriptor berkas yang terbuka, mis. "
                    "--passphrase-fd 3",
                    "--passphrase-fd needs the number of an open file descriptor, e.g. "
                    "--passphrase-fd 3"));
  }
  g_passphrase_fd = static_cast<int>(fd);
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

void Laptop::reenrol(Transport& transport, const std::string& code) {
  SyncClient client(*store_, transport, "");
  std::string name = label();
  if (name.empty()) name = store_->device_id();
  const std::vector<std::string> regions_before = store_->regions();
  const std::string token = client.register_device(code, name);  // sets the new regions
  // A code for other regions: the pull cursor only moves forward, so records of the new
  // regions written before it would never reach this laptop. The next sync pulls the log
  // from its start (ops already held apply as no-ops). Before the token: a crash between
  // the two costs a longer pull, never a missed record.
  if (store_->regions() != regions_before) store_->set_meta("pull_cursor", "");
  // In this order: a crash after the first leaves a pending token the server no longer
  // knows, which the next rotation drops (rotate_token) - never the old token alone.
  store_->set_secret("device_token", token);
  store_->set_secret("device_token_next", "");
  store_->set_secret("enrol_code", "");
}

bool Laptop::rotate_token(Transport& transport, bool start) {
  SyncClient client(*store_, transport, token());
  // In this order: a crash between the two leaves both secrets equal, which is harmless.
  auto adopt = [this](const std::string& next) {
    store_->set_secret("device_token", next);
    store_->set_secret("device_token_next", "");
    return true;
  };
  if (std::string waiting = store_->get_secret("device_token_next"); !waiting.empty()) {
    try {
      client.confirm_token(waiting);
      return adopt(waiting);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kUnauthorized) throw;
      // The server does not know it (a later rotation, whose answer was lost, replaced it):
      // the current token is still the device's.
      store_->set_secret("device_token_next", "");
    }
  }
  if (!start) return false;
  const std::string next = client.request_new_token();
  store_->set_secret("device_token_next", next);  // kept before it is ever used
  client.confirm_token(next);
  return adopt(next);
}

// A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, version 7, 74 random bits; the same
// form the store makes, so records made with an id given here look like any other.
std::string new_record_id() {
  static std::random_device rd;
  const uint64_t ms = static_cast<uint64_t>(now_ms());
  unsigned char b[16];
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  for (int i = 6; i < 16; ++i) b[i] = static_cast<unsigned char>(rd());
  b[6] = static_cast<unsigned char>(0x70 | (b[6] & 0x0F));
  b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3F));
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(hex[b[i] >> 4]);
    s.push_back(hex[b[i] & 0xF]);
  }
  return s;
}

}  // namespace lumbung::cli
