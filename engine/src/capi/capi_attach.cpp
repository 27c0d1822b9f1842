// The attachment half of the C API (lumbung.h "Attachments"): keep a file with a record,
// read it back (fetching it from the server on demand), and say where it stands. The same
// contract as the CLI's `lumbung attach` / `lumbung open` (tools/cli/lumbung/cmd_attach.cpp)
// over lumbung/attachments.h.
#include <sys/stat.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "capi/capi_internal.h"

using lumbung::AttachmentRef;
using lumbung::Error;
using lumbung::ErrorCode;
using lumbung::FieldDef;
using lumbung::FieldType;
using lumbung::Json;
using namespace lumbung::capi;
using lumbung::AttachmentStore;
using lumbung::Store;

namespace lumbung::capi {

AttachmentStore& AttachmentSlot::get() {
  std::lock_guard<std::mutex> lock(mu);
  if (!att) att = AttachmentStore::open(*store, AttachmentStore::path_for(path));
  return *att;
}

bool has_attachment_fields(const Schema& schema) {
  for (const auto& cs : schema.collections()) {
    for (const auto& f : cs.fields()) {
      if (f.type == FieldType::kAttachment) return true;
    }
  }
  return false;
}

}  // namespace lumbung::capi

namespace {

// The type from the file's first bytes (a photo renamed .pdf is still a photo), else from
// the name's extension; as the CLI's `lumbung attach` decides it.
std::string detect_mime(const std::string& bytes, const std::string& name) {
  auto starts = [&](const char* magic, size_t n) {
    return bytes.size() >= n && bytes.compare(0, n, magic, n) == 0;
  };
  if (starts("\xFF\xD8\xFF", 3)) return "image/jpeg";
  if (starts("\x89PNG\r\n\x1a\n", 8)) return "image/png";
  if (starts("%PDF-", 5)) return "application/pdf";
  const size_t dot = name.rfind('.');
  std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "png") return "image/png";
  if (ext == "pdf") return "application/pdf";
  return "application/octet-stream";
}

// The attachment field `field` of `collection`: kUnknownCollection, or kUnknownField when
// the schema has no such field or it is not an attachment.
const FieldDef& attachment_field(const Store& s, const std::string& collection,
                                 const std::string& field) {
  const lumbung::CollectionSchema* cs = s.schema().collection(collection);
  if (!cs) throw Error(ErrorCode::kUnknownCollection, "unknown collection: " + collection);
  const FieldDef* f = cs->field(field);
  if (!f || f->type != FieldType::kAttachment) {
    throw Error(ErrorCode::kUnknownField, field + " is not an attachment field of " + collection,
                field);
  }
  return *f;
}

// The reference the record holds in `field`; nullopt if none. kNotFound for no live record.
std::optional<AttachmentRef> ref_of(const Store& s, const std::string& collection,
                                    const std::string& id, const std::string& field) {
  auto rec = s.get(collection, id);
  if (!rec) throw Error(ErrorCode::kNotFound, "no record " + id);
  auto it = rec->fields.find(field);
  if (it == rec->fields.end()) return std::nullopt;
  return AttachmentRef::from_json(*it);
}

char* attach_bytes(lb_store* store, const char* collection, const char* record_id,
                   const char* field, std::string bytes, const char* mime, std::string name) {
  auto& s = need_store(store);
  const std::string col = need(collection, "collection"), fld = need(field, "field");
  attachment_field(s, col, fld);
  const std::string type = mime && *mime ? std::string(mime) : detect_mime(bytes, name);
  const AttachmentRef ref =
      store->attachments->get().attach(col, need(record_id, "record_id"), fld, bytes, type, name);
  return dup_string(ref.to_json().dump());
}

// Error(kValidationFailed, field) naming the limit, for a file over the field's max_size.
void refuse_too_large(const FieldDef& f, uint64_t size) {
  if (!f.max_size || size <= static_cast<uint64_t>(*f.max_size)) return;
  throw Error(ErrorCode::kValidationFailed,
              (f.label.empty() ? f.name : f.label) + ": the file has " + std::to_string(size) +
                  " bytes, at most " + std::to_string(*f.max_size) +
                  " are allowed; shrink the photo",
              f.name);
}

void give_bytes(const std::string& bytes, void** out, size_t* size) {
  // One byte more, so that an empty buffer is never a NULL from malloc.
  void* buf = std::malloc(bytes.size() + 1);
  if (!buf) throw std::bad_alloc();
  std::memcpy(buf, bytes.data(), bytes.size());
  *out = buf;
  *size = bytes.size();
}

}  // namespace

extern "C" {

char* lb_attach(lb_store* store, const char* collection, const char* record_id, const char* field,
                const void* bytes, size_t size, const char* mime, const char* name, lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    if (!bytes && size > 0) throw Error(ErrorCode::kInvalidArgument, "bytes is NULL");
    // The limit before copying: memory stays bounded whatever the app hands over.
    refuse_too_large(
        attachment_field(need_store(store), need(collection, "collection"), need(field, "field")),
        size);
    std::string data(static_cast<const char*>(bytes), bytes ? size : 0);
    out = attach_bytes(store, collection, record_id, field, std::move(data), mime,
                       optional_text(name));
  });
  return out;
}

char* lb_attach_file(lb_store* store, const char* collection, const char* record_id,
                     const char* field, const char* path, const char* mime, lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    auto& s = need_store(store);
    const std::string file = need(path, "path");
    const FieldDef& f = attachment_field(s, need(collection, "collection"), need(field, "field"));
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      throw Error(ErrorCode::kInvalidArgument, "cannot read " + file + ": not a file");
    }
    // The limit before reading: a 40 MB camera original is refused without being loaded.
    refuse_too_large(f, static_cast<uint64_t>(st.st_size));
    std::ifstream in(file, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in) throw Error(ErrorCode::kStorage, "cannot read " + file);
    const size_t slash = file.find_last_of('/');
    out = attach_bytes(store, collection, record_id, field, ss.str(), mime,
                       slash == std::string::npos ? file : file.substr(slash + 1));
  });
  return out;
}

int lb_attachment_open(lb_store* store, lb_sync* sync, const char* collection,
                       const char* record_id, const char* field, void** bytes, size_t* size,
                       lb_error* err) {
  if (bytes) *bytes = nullptr;
  if (size) *size = 0;
  return guarded(err, [&] {
    auto& s = need_store(store);
    if (!bytes || !size) throw Error(ErrorCode::kInvalidArgument, "bytes and size are required");
    const std::string col = need(collection, "collection"), id = need(record_id, "record_id");
    const std::string fld = need(field, "field");
    attachment_field(s, col, fld);
    auto ref = ref_of(s, col, id, fld);
    if (!ref) throw Error(ErrorCode::kNotFound, "the record has no " + fld, fld);
    AttachmentStore& att = store->attachments->get();
    if (auto here = att.read(ref->sha256)) return give_bytes(*here, bytes, size);
    if (!sync) {
      throw Error(ErrorCode::kNotFound,
                  fld + " is not on this device yet: pass an lb_sync to fetch it", fld);
    }
    auto& h = need_sync(sync);
    if (h.store.get() != store->store.get()) {
      throw Error(ErrorCode::kInvalidArgument, "sync was made from another store");
    }
    std::lock_guard<std::mutex> op(h.op_mutex);  // the transport is single-threaded
    RunScope scope(h);                           // lb_sync_cancel stops the fetch
    give_bytes(att.fetch(*h.transport, h.token, col, id, fld, run_options(h), &h.fetch_link), bytes,
               size);
  });
}

char* lb_attachment_state(lb_store* store, const char* collection, const char* record_id,
                          const char* field, lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    auto& s = need_store(store);
    const std::string col = need(collection, "collection"), fld = need(field, "field");
    attachment_field(s, col, fld);
    auto ref = ref_of(s, col, need(record_id, "record_id"), fld);
    if (!ref) return;  // an expected miss: NULL with LB_OK
    auto info = store->attachments->get().info(ref->sha256);
    Json j = ref->to_json();
    j["field"] = fld;
    const bool local = info && info->local;
    j["local"] = local;
    j["state"] = !local ? "remote" : lumbung::attachment_state_name(info->state);
    j["sent"] = info ? info->sent : 0;
    j["error"] = info ? info->error : "";
    j["error_code"] = info ? info->error_code : "";  // e.g. "quota_exceeded" (API 3)
    out = dup_string(j.dump());
  });
  return out;
}

}  // extern "C"
