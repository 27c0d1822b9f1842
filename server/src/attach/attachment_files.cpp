#include "attach/attachment_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "crypto/crypto.h"
#include "lumbung/error.h"
#include "lumbung/schema.h"

namespace lumbung::server {
namespace {

constexpr size_t kFrameHead = 8;
// A frame larger than this is damage, not a chunk (chunks are at most a request body).
constexpr uint32_t kMaxFrameBytes = 16u * 1024 * 1024;

[[noreturn]] void io_error(const std::string& what) {
  throw Error(ErrorCode::kStorage, what + ": " + std::strerror(errno));
}

std::string aad(const std::string& sha, uint64_t offset) { return attachment_aad(sha, offset); }

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void put_u32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
uint32_t get_u32(const std::string& in, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[at + i]);
  return v;
}

void write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_error("cannot write " + path);
    }
    done += static_cast<size_t>(n);
  }
}

// Calls fn(offset, plain_len, stored) for each whole frame of `file`; returns the byte
// length of the whole frames (a torn tail is beyond it).
size_t scan_frames(
    const std::string& file,
    const std::function<void(uint64_t offset, uint32_t plain, std::string_view stored)>& fn) {
  size_t at = 0;
  uint64_t offset = 0;
  while (at + kFrameHead <= file.size()) {
    const uint32_t plain = get_u32(file, at), stored = get_u32(file, at + 4);
    if (plain == 0 || stored > kMaxFrameBytes || at + kFrameHead + stored > file.size()) break;
    fn(offset, plain, std::string_view(file).substr(at + kFrameHead, stored));
    offset += plain;
    at += kFrameHead + stored;
  }
  return at;
}

uint64_t plain_total(const std::string& file) {
  uint64_t total = 0;
  size_t at = 0;
  while (at + kFrameHead <= file.size()) {
    const uint32_t plain = get_u32(file, at), stored = get_u32(file, at + 4);
    if (plain == 0 || stored > kMaxFrameBytes || at + kFrameHead + stored > file.size()) break;
    total += plain;
    at += kFrameHead + stored;
  }
  return total;
}

// Modification time in ms since the epoch; 0 if the file is not there.
int64_t mtime_ms(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

}  // namespace

// An upload of this process holds upload_mu_ for its life: one at a time, as two devices
// sending the same photo take turns chunk by chunk. The files are written as it goes.
class AttachmentFiles::FileUpload : public AttachmentBytes::Upload {
 public:
  FileUpload(AttachmentFiles& f, std::string sha)
      : f_(f), sha_(std::move(sha)), lock_(f.upload_mu_) {}
  std::optional<AttachmentEntry> entry() override { return f_.find(sha_); }
  uint64_t device_bytes(const std::string& device) override { return f_.device_bytes(device); }
  void begin(const AttachmentEntry& e) override { f_.begin(sha_, e); }
  uint64_t append(const std::string& chunk, int64_t now_ms) override {
    return f_.append(sha_, chunk, now_ms);
  }
  bool finish() override { return f_.finish(sha_); }
  std::optional<AttachmentEntry> claim(int64_t now_ms) override { return f_.claim(sha_, now_ms); }
  void commit() override {}

 private:
  AttachmentFiles& f_;
  std::string sha_;
  std::lock_guard<std::mutex> lock_;
};

std::unique_ptr<AttachmentBytes::Upload> AttachmentFiles::upload(const std::string& sha) {
  return std::make_unique<FileUpload>(*this, sha);
}

AttachmentFiles::AttachmentFiles(std::string dir, std::string key)
    : dir_(std::move(dir)), key_(std::move(key)) {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) io_error("cannot create " + dir_);
  std::vector<std::string> names;
  {
    DIR* d = ::opendir(dir_.c_str());
    if (!d) io_error("cannot read " + dir_);
    std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
    // Bounded by the directory's entries (readdir returns each once).
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
  }
  for (const auto& name : names) {
    if (name.size() == 69 && name.compare(64, 5, ".meta") == 0 &&
        is_sha256_hex(name.substr(0, 64))) {
      load(name.substr(0, 64));
    }
  }
  // What no entry accounts for: left by a crash (a .meta.tmp before its rename) or damage
  // (a .part or .blob whose .meta is gone or unreadable). Never served; removed when old.
  for (const auto& name : names) {
    const std::string ext = name.size() > 64 ? name.substr(64) : std::string();
    const bool ours = is_sha256_hex(name.substr(0, 64)) &&
                      (ext == ".meta" || ext == ".part" || ext == ".blob" || ext == ".meta.tmp");
    if (!ours || index_.count(name.substr(0, 64))) continue;
    strays_[name] = mtime_ms(dir_ + "/" + name);
  }
}

std::string AttachmentFiles::path(const std::string& sha, const char* ext) const {
  return dir_ + "/" + sha + ext;
}

void AttachmentFiles::load(const std::string& sha) {
  auto meta = slurp(path(sha, ".meta"));
  Json j = meta ? Json::parse(*meta, nullptr, false) : Json();
  if (!j.is_object()) return;  // a torn .meta: the upload starts again
  AttachmentEntry e;
  e.size = j.value("size", uint64_t{0});
  e.mime = j.value("mime", std::string());
  e.device = j.value("device", std::string());
  e.started_ms = j.value("started_ms", int64_t{0});
  // The last chunk's time survives a restart in the file's modification time: an upload
  // that was moving is not judged idle from its start.
  e.touched_ms = e.started_ms;
  if (::access(path(sha, ".blob").c_str(), F_OK) == 0) {
    e.complete = true;
    e.received = e.size;
    e.touched_ms = std::max(e.started_ms, mtime_ms(path(sha, ".blob")));
  } else if (auto part = slurp(path(sha, ".part"))) {
    e.touched_ms = std::max(e.started_ms, mtime_ms(path(sha, ".part")));
    const size_t whole = scan_frames(*part, [](uint64_t, uint32_t, std::string_view) {});
    if (whole < part->size() && ::truncate(path(sha, ".part").c_str(), whole) != 0) {
      io_error("cannot cut the torn end of " + path(sha, ".part"));
    }
    e.received = plain_total(part->substr(0, whole));
  }
  index_[sha] = e;
}

std::optional<AttachmentEntry> AttachmentFiles::find(const std::string& sha) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(sha);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

void AttachmentFiles::begin(const std::string& sha, const AttachmentEntry& e) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string meta =
      Json{{"size", e.size}, {"mime", e.mime}, {"device", e.device}, {"started_ms", e.started_ms}}
          .dump();
  const std::string tmp = path(sha, ".meta.tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) io_error("cannot create " + tmp);
  write_all(fd, meta, tmp);
  ::fdatasync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path(sha, ".meta").c_str()) != 0) io_error("cannot rename " + tmp);
  ::unlink(path(sha, ".part").c_str());
  AttachmentEntry copy = e;
  copy.received = 0;
  copy.complete = false;
  index_[sha] = copy;
}

uint64_t AttachmentFiles::append(const std::string& sha, const std::string& chunk, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(sha);
  if (it == index_.end() || it->second.complete) {
    throw Error(ErrorCode::kInternal, "append to an upload that is not open");
  }
  const std::string stored =
      key_.empty() ? chunk : crypto::seal(key_, chunk, aad(sha, it->second.received));
  std::string frame;
  frame.reserve(kFrameHead + stored.size());
  put_u32(frame, static_cast<uint32_t>(chunk.size()));
  put_u32(frame, static_cast<uint32_t>(stored.size()));
  frame += stored;
  const std::string p = path(sha, ".part");
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) io_error("cannot open " + p);
  write_all(fd, frame, p);
  if (::fdatasync(fd) != 0) {
    ::close(fd);
    io_error("cannot sync " + p);
  }
  ::close(fd);
  it->second.received += chunk.size();
  it->second.touched_ms = now_ms;
  return it->second.received;
}

bool AttachmentFiles::finish(const std::string& sha) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(sha);
  if (it == index_.end()) return false;
  const std::string p = path(sha, ".part");
  auto part = slurp(p);
  bool ok = part.has_value();
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  ok = ok && md && EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) == 1;
  uint64_t total = 0;
  if (ok) {
    scan_frames(*part, [&](uint64_t offset, uint32_t, std::string_view stored) {
      if (!ok) return;
      std::optional<std::string> plain = key_.empty()
                                             ? std::optional<std::string>(std::string(stored))
                                             : crypto::open(key_, stored, aad(sha, offset));
      if (!plain) {
        ok = false;
        return;
      }
      total += plain->size();
      EVP_DigestUpdate(md.get(), plain->data(), plain->size());
    });
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ok = ok && total == it->second.size && EVP_DigestFinal_ex(md.get(), digest, &len) == 1;
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; ok && i < len; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  if (!ok || hex != sha) {
    ::unlink(p.c_str());
    ::unlink(path(sha, ".meta").c_str());
    index_.erase(it);
    return false;
  }
  if (::rename(p.c_str(), path(sha, ".blob").c_str()) != 0) io_error("cannot rename " + p);
  if (int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);  // the rename survives a power cut
    ::close(dfd);
  }
  it->second.complete = true;
  it->second.received = it->second.size;
  return true;
}

std::string AttachmentFiles::read(const std::string& sha, uint64_t offset, uint64_t limit) const {
  std::string file;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(sha);
    if (it == index_.end() || !it->second.complete) {
      throw Error(ErrorCode::kNotFound, "no such attachment");
    }
    auto blob = slurp(path(sha, ".blob"));
    if (!blob) throw Error(ErrorCode::kStorage, "attachment file missing: " + sha.substr(0, 12));
    file = std::move(*blob);
  }
  std::string out;
  scan_frames(file, [&](uint64_t at, uint32_t plain_len, std::string_view stored) {
    if (out.size() >= limit) return;
    // Frames before the range are skipped by their head's length, not opened: a download
    // resumed in small ranges would otherwise open the whole file again for each.
    if (at + plain_len <= offset) return;
    std::optional<std::string> plain = key_.empty()
                                           ? std::optional<std::string>(std::string(stored))
                                           : crypto::open(key_, stored, aad(sha, at));
    if (!plain) throw Error(ErrorCode::kCorrupt, "attachment " + sha.substr(0, 12) + " is damaged");
    const uint64_t end = at + plain->size();
    if (end <= offset) return;
    const uint64_t from = offset > at ? offset - at : 0;
    out.append(*plain, from, std::min<uint64_t>(plain->size() - from, limit - out.size()));
  });
  return out;
}

bool AttachmentFiles::remove_if(const std::string& sha,
                                const std::function<bool(const AttachmentEntry&)>& still) {
  std::lock_guard<std::mutex> up(upload_mu_);  // not in the middle of an upload of it
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(sha);
  if (it == index_.end() || !still(it->second)) return false;
  ::unlink(path(sha, ".blob").c_str());
  ::unlink(path(sha, ".part").c_str());
  ::unlink(path(sha, ".meta").c_str());
  index_.erase(it);
  return true;
}

std::optional<AttachmentEntry> AttachmentFiles::claim(const std::string& sha, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(sha);
  if (it == index_.end()) return std::nullopt;
  if (it->second.complete) it->second.touched_ms = std::max(it->second.touched_ms, now_ms);
  return it->second;
}

uint64_t AttachmentFiles::remove_strays(int64_t before_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t removed = 0;
  for (auto it = strays_.begin(); it != strays_.end();) {
    // A stray whose file became an entry since (an upload of the same hash started again)
    // is that entry's now: begin() replaced or removed it.
    if (it->second >= before_ms || index_.count(it->first.substr(0, 64))) {
      ++it;
      continue;
    }
    if (::unlink((dir_ + "/" + it->first).c_str()) == 0) ++removed;
    it = strays_.erase(it);
  }
  return removed;
}

uint64_t AttachmentFiles::device_bytes(const std::string& device) const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const auto& [sha, e] : index_) {
    if (e.device == device) total += e.size;
  }
  return total;
}

void AttachmentFiles::for_each(
    const std::function<void(const std::string&, const AttachmentEntry&)>& fn) const {
  std::map<std::string, AttachmentEntry> copy;
  {
    std::lock_guard<std::mutex> lock(mu_);
    copy = index_;
  }
  for (const auto& [sha, e] : copy) fn(sha, e);
}

uint64_t AttachmentFiles::for_each_frame(
    const std::string& sha,
    const std::function<void(uint64_t, uint32_t, std::string_view)>& fn) const {
  auto file = slurp(path(sha, ".blob"));
  if (!file) file = slurp(path(sha, ".part"));
  if (!file) return 0;
  uint64_t total = 0;
  scan_frames(*file, [&](uint64_t offset, uint32_t plain, std::string_view stored) {
    fn(offset, plain, stored);
    total += plain;
  });
  return total;
}

}  // namespace lumbung::server
