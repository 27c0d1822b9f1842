// lumbung attach NIK FIELD FILE, lumbung open NIK FIELD [OUT], the attachment lines of
// `lumbung show` and of `lumbung sync` (lumbung/attachments.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "common/api.h"
#include "common/exit_codes.h"
#include "common/i18n.h"
#include "common/output.h"
#include "laptop.h"
#include "lumbung/attachments.h"
#include "record_view.h"

namespace lumbung::cli {
namespace {

// The type from the file's first bytes (a photo renamed .pdf is still a photo), else from
// its extension.
std::string mime_of(const std::string& bytes, const std::string& path) {
  auto starts = [&](const char* magic, size_t n) {
    return bytes.size() >= n && bytes.compare(0, n, magic, n) == 0;
  };
  if (starts("\xFF\xD8\xFF", 3)) return "image/jpeg";
  if (starts("\x89PNG\r\n\x1a\n", 8)) return "image/png";
  if (starts("%PDF-", 5)) return "application/pdf";
  const size_t dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "png") return "image/png";
  if (ext == "pdf") return "application/pdf";
  return "application/octet-stream";
}

std::string ext_of(const std::string& mime) {
  if (mime == "image/jpeg") return ".jpg";
  if (mime == "image/png") return ".png";
  if (mime == "application/pdf") return ".pdf";
  return ".bin";
}

const FieldDef& attachment_field(const CollectionSchema& cs, const std::string& name) {
  const FieldDef* f = cs.field(name);
  if (!f || f->type != FieldType::kAttachment) {
    std::string list;
    for (const FieldDef& d : cs.fields()) {
      if (d.type == FieldType::kAttachment) list += (list.empty() ? "" : ", ") + d.name;
    }
    throw Error(ErrorCode::kInvalidArgument,
                tr("attach.not_attachment", {{"field", printable(name)}, {"fields", list}}));
  }
  return *f;
}

std::string state_text(const AttachmentInfo& i) {
  switch (i.state) {
    case AttachmentState::kWaiting:
      return tr("attach.state_waiting");
    case AttachmentState::kSending: {
      const uint64_t pct = i.ref.size > 0 ? i.sent * 100 / static_cast<uint64_t>(i.ref.size) : 0;
      return tr("attach.state_sending", {{"pct", std::to_string(pct)}});
    }
    case AttachmentState::kOnServer:
      return tr("attach.state_on_server");
    case AttachmentState::kFailed:
      if (i.error_code == "quota_exceeded") return tr("attach.state_quota");
      return tr("attach.state_failed", {{"error", printable(i.error)}});
  }
  return "";
}

}  // namespace

std::unique_ptr<AttachmentStore> open_attachments(Laptop& lap) {
  return AttachmentStore::open(lap.store(), AttachmentStore::path_for(lap.home() + "/lumbung.db"));
}

void print_attachments(Context& ctx, Laptop& lap, const Record& r) {
  const CollectionSchema& cs = lap.collection();
  std::unique_ptr<AttachmentStore> att;
  for (const FieldDef& f : cs.fields()) {
    if (f.type != FieldType::kAttachment) continue;
    auto it = r.fields.find(f.name);
    if (it == r.fields.end()) continue;
    auto ref = AttachmentRef::from_json(*it);
    if (!ref) continue;
    if (!att) att = open_attachments(lap);
    auto info = att->info(ref->sha256);
    const std::string state =
        !info || !info->local ? tr("attach.state_remote", {{"field", f.name}}) : state_text(*info);
    *ctx.out << "  📎 " << field_label(f) << ": "
             << printable(ref->name.empty() ? f.name : ref->name) << " ("
             << human_bytes(static_cast<uint64_t>(ref->size)) << ") - " << state << "\n";
  }
}

void attachment_progress(Context& ctx, const AttachmentProgress& p) {
  const uint64_t pct = p.size ? p.sent * 100 / p.size : 100;
  *ctx.err << tr("attach.progress", {{"i", std::to_string(p.index)},
                                     {"n", std::to_string(p.count)},
                                     {"pct", std::to_string(pct)},
                                     {"sent", human_bytes(p.sent)},
                                     {"size", human_bytes(p.size)}})
           << "\n";
}

void report_attachments(Context& ctx, const AttachmentSyncReport& r, const AttachmentStore* att) {
  if (r.sent == 0 && r.failed == 0) return;
  if (r.sent > 0) {
    *ctx.out << tr("attach.sent", {{"n", std::to_string(r.sent)}, {"up", human_bytes(r.bytes_up)}})
             << "\n";
  }
  bool quota = false;
  for (const auto& [sha, why] : r.errors) {
    const auto info = att ? att->info(sha) : std::nullopt;
    // (this sync's refusal: a link that failed on it keeps the previous sync's code)
    const bool full = info && info->error_code == "quota_exceeded" && info->error == why;
    quota = quota || full;
    // The server's own words stay for the office (they name the quota and the flag).
    *ctx.out << "  ✗ "
             << tr(full ? "attach.failed_quota" : "attach.failed",
                   {{"sha", sha.substr(0, 12)}, {"error", printable(why)}})
             << "\n";
  }
  if (quota) *ctx.out << tr("attach.quota_todo") << "\n";
  if (r.failed > 0) {
    *ctx.out << tr("attach.failed_total", {{"n", std::to_string(r.failed)}}) << "\n";
  }
}

Json attachments_json(const AttachmentSyncReport& r, const AttachmentStore* att) {
  Json errors = Json::array();
  for (const auto& [sha, why] : r.errors) {
    Json e{{"sha256", sha}, {"error", why}};
    const auto info = att ? att->info(sha) : std::nullopt;
    if (info && !info->error_code.empty() && info->error == why) {
      e["code"] = info->error_code;  // e.g. quota_exceeded
    }
    errors.push_back(std::move(e));
  }
  return Json{{"sent", r.sent},   {"already", r.already},   {"failed", r.failed},
              {"bytes", r.bytes}, {"bytes_up", r.bytes_up}, {"requests", r.requests},
              {"errors", errors}};
}

int cmd_attach(Context& ctx, Args& args) {
  const std::string ref = args.next();
  const std::string field = args.next();
  const std::string file = args.next();
  args.finish();
  if (ref.empty() || field.empty() || file.empty()) {
    throw Error(ErrorCode::kInvalidArgument, tr("attach.usage"));
  }
  Laptop lap(ctx.home);
  const CollectionSchema& cs = lap.collection();
  const FieldDef& f = attachment_field(cs, field);
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(ErrorCode::kInvalidArgument, tr("attach.no_file", {{"file", printable(file)}}));
  }
  // The limit before reading: a 40 MB camera original is refused without being loaded.
  if (f.max_size && st.st_size > *f.max_size) {
    *ctx.err << tr("attach.too_large", {{"label", field_label(f)},
                                        {"size", human_bytes(static_cast<uint64_t>(st.st_size))},
                                        {"max", human_bytes(static_cast<uint64_t>(*f.max_size))}})
             << "\n"
             << tr("attach.shrink_hint") << "\n";
    return kExitRefused;
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  const std::string mime = mime_of(bytes, file);
  bool allowed = false;
  std::string list;
  for (const auto& m : f.mime) {
    allowed = allowed || m == mime;
    list += (list.empty() ? "" : ", ") + m;
  }
  if (!allowed) {
    *ctx.err << tr("attach.wrong_type",
                   {{"label", field_label(f)}, {"mime", mime}, {"allowed", list}})
             << "\n";
    return kExitRefused;
  }
  const Record r = resolve_record(lap.store(), cs, ref);
  auto att = open_attachments(lap);
  const size_t slash = file.find_last_of('/');
  const std::string name = slash == std::string::npos ? file : file.substr(slash + 1);
  const AttachmentRef done = att->attach(cs.name(), r.id, field, bytes, mime, name);
  *ctx.out << tr("attach.done", {{"label", field_label(f)},
                                 {"size", human_bytes(static_cast<uint64_t>(done.size))}})
           << "\n";
  return kExitOk;
}

int cmd_open(Context& ctx, Args& args) {
  const std::string ref = args.next();
  const std::string field = args.next();
  std::string out_path = args.next();
  args.finish();
  if (ref.empty() || field.empty()) throw Error(ErrorCode::kInvalidArgument, tr("open.usage"));
  Laptop lap(ctx.home);
  const CollectionSchema& cs = lap.collection();
  const FieldDef& f = attachment_field(cs, field);
  const Record r = resolve_record(lap.store(), cs, ref);
  auto it = r.fields.find(field);
  auto aref = it == r.fields.end() ? std::nullopt : AttachmentRef::from_json(*it);
  if (!aref) {
    *ctx.err << tr("open.none", {{"label", field_label(f)}}) << "\n";
    return kExitNotFound;
  }
  auto att = open_attachments(lap);
  std::optional<std::string> bytes = att->read(aref->sha256);
  if (!bytes) {  // on demand: only now, never in a pull
    std::string url = ctx.server.empty() ? lap.server_url() : ctx.server;
    if (url.empty()) throw Error(ErrorCode::kInvalidArgument, tr("sync.no_server"));
    if (const int rc = office_trust_or_explain(ctx, lap, url); rc != kExitOk) return rc;
    auto transport = make_http_transport(url, transport_options(60000, &lap.config()));
    const uint64_t size = static_cast<uint64_t>(aref->size);
    if (const uint64_t kept = att->partial_bytes(aref->sha256); kept > 0) {
      *ctx.err << tr("open.resuming", {{"kept", human_bytes(kept)}, {"size", human_bytes(size)}})
               << "\n";
    } else {
      *ctx.err << tr("open.fetching", {{"size", human_bytes(size)}}) << "\n";
    }
    // Ctrl-C stops the range on its way; what arrived stays on the laptop (sealed) and the
    // next `lumbung open` goes on from there.
    const Interrupts interrupts;
    SyncOptions o;
    o.cancel = interrupts.flag();
    try {
      bytes = att->fetch(*transport, lap.token(), cs.name(), r.id, field, o);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kCancelled && e.code() != ErrorCode::kTransport) throw;
      const std::string kept = human_bytes(att->partial_bytes(aref->sha256));
      if (e.code() == ErrorCode::kCancelled) {
        *ctx.err << tr("open.cancelled", {{"kept", kept}, {"size", human_bytes(size)}}) << "\n";
      } else {
        *ctx.err << tr("open.unreachable", {{"kept", kept},
                                            {"size", human_bytes(size)},
                                            {"detail", printable(e.what())}})
                 << "\n";
      }
      return exit_code_for(e.code());
    }
  }
  if (out_path.empty()) out_path = field + "-" + r.id.substr(0, 8) + ext_of(aref->mime);
  // Personal data: readable by the officer only, and never over an existing file.
  const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                tr("open.cannot_write", {{"file", printable(out_path)}}));
  }
  size_t done = 0;
  while (done < bytes->size()) {
    const ssize_t n = ::write(fd, bytes->data() + done, bytes->size() - done);
    if (n <= 0) {
      ::close(fd);
      throw Error(ErrorCode::kStorage, tr("open.cannot_write", {{"file", printable(out_path)}}));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  *ctx.out << tr("open.done", {{"file", printable(out_path)}, {"size", human_bytes(bytes->size())}})
           << "\n";
  return kExitOk;
}

}  // namespace lumbung::cli
