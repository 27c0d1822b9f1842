/* Attachments from an app through the C API (lumbung.h "Attachments"), against the real
 * lumbung-server: laptop A attaches a photo of the KTP to a record, syncs; laptop B pulls
 * the record (not the bytes), sees the attachment as "remote", opens it through its sync
 * handle and gets the same bytes. Plain C11 like capi_test.c; prints "N passed, N failed".
 *
 *   capi_attach_test <lumbung-server binary> <schema file>
 */
#define _XOPEN_SOURCE 700

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capi_check.h"
#include "lumbung/lumbung.h"
#include "test_server.h"

static const char* kRecord =
    "{\"nik\":\"7402294809690329\",\"full_name\":\"Wulan Pratama\",\"birth_date\":\"1969-09-08\","
    "\"gender\":\"P\",\"village_code\":\"74.02.29.2053\",\"position\":\"kasi pelayanan\","
    "\"phone\":\"08222672973\",\"programs\":[\"JKK\",\"JKM\"],\"monthly_income\":4900000,"
    "\"status\":\"submitted\",\"created_at\":\"2025-01-06T12:34:25.839Z\",\"officer_id\":\"OFC-"
    "0143\"}";

/* A text in the photo that must not be readable in the attachment file at rest. */
static const char* kMarker = "KTP-MARKER-7402294809690329";

/* A "photo": the JPEG magic, the marker, then pseudo-random bytes (not compressible). */
static unsigned char* make_photo(size_t size) {
  unsigned char* p = malloc(size);
  if (!p) return NULL;
  unsigned x = 12345u;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    p[i] = (unsigned char)(x >> 16);
  }
  p[0] = 0xFF;
  p[1] = 0xD8;
  p[2] = 0xFF;
  memcpy(p + 16, kMarker, strlen(kMarker));
  return p;
}

static int write_file(const char* path, const unsigned char* bytes, size_t size) {
  FILE* f = fopen(path, "wb");
  if (!f) return -1;
  const size_t n = fwrite(bytes, 1, size, f);
  return fclose(f) == 0 && n == size ? 0 : -1;
}

/* True if `needle` occurs in the file; read whole (the attachment file is small here). */
static int file_contains(const char* path, const char* needle) {
  FILE* f = fopen(path, "rb");
  if (!f) return 0;
  size_t cap = 8u << 20, len = 0, n = strlen(needle);
  char* buf = malloc(cap);
  if (buf) len = fread(buf, 1, cap, f);
  fclose(f);
  int found = 0;
  for (size_t i = 0; buf && i + n <= len && !found; ++i) found = memcmp(buf + i, needle, n) == 0;
  free(buf);
  return found;
}

/* The attachment events of a sync's progress callback. */
typedef struct att_progress {
  int events, records_done_first, count;
  unsigned long long photo_sent, photo_size;
} att_progress;

static int on_progress(const lb_progress* p, void* user) {
  att_progress* a = user;
  if (p->phase == LB_PHASE_DONE && a->events == 0) a->records_done_first = 1;
  if (p->phase != LB_PHASE_ATTACHMENTS) return 0;
  ++a->events;
  a->count = (int)p->attachment_count;
  if (p->attachment_size == 200000) {
    a->photo_sent = p->attachment_sent;
    a->photo_size = p->attachment_size;
  }
  return 0;
}

static const char* g_server_bin;

/* Calls lb_sync_cancel every 100 ms until told to stop (at most 10 s). */
typedef struct canceller {
  lb_sync* sync;
  atomic_int done;
} canceller;

static void* cancel_until_done(void* arg) {
  canceller* c = arg;
  for (int i = 0; i < 100 && !atomic_load(&c->done); ++i) {
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    lb_sync_cancel(c->sync);
  }
  return NULL;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A fetch over a link that is down (a stopped server's port; 8 attempts 2 s apart would
 * take 14 s), cancelled from another thread: LB_ERR_CANCELLED within a wait, nothing kept. */
static void test_cancel_fetch(lb_store* b, const char* id) {
  test_server gone;
  CHECK(test_server_start(&gone, g_server_bin) == 0);
  test_server_stop(&gone);
  lb_sync_options o;
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.timeout_ms = 2000;
  o.max_attempts = 8;
  o.initial_backoff_ms = 2000;
  o.max_backoff_ms = 2000;
  lb_error err;
  lb_sync* dead = lb_sync_new_with_options(b, gone.url, NULL, &o, &err);
  CHECK_OK(err);
  canceller c;
  c.sync = dead;
  atomic_init(&c.done, 0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, cancel_until_done, &c) == 0);
  void* got = NULL;
  size_t got_size = 0;
  const double start = now_s();
  const int rc = lb_attachment_open(b, dead, "enrolment", id, "formulir", &got, &got_size, &err);
  const double took = now_s() - start;
  atomic_store(&c.done, 1);
  pthread_join(t, NULL);
  printf("fetch cancelled: %s after %.2f s: %s\n", lb_error_name(rc), took, err.message);
  CHECK(rc == LB_ERR_CANCELLED && err.code == LB_ERR_CANCELLED);
  CHECK(took < 2.0);
  CHECK(got == NULL && got_size == 0);
  lb_sync_free(dead);
}

static void state_is(lb_store* s, const char* id, const char* field, const char* state, int local) {
  lb_error err;
  char* st = lb_attachment_state(s, "enrolment", id, field, &err);
  CHECK_OK(err);
  char want[64], got[64] = "";
  snprintf(want, sizeof want, "\"local\":%s", local ? "true" : "false");
  CHECK(st && test_json_string(st, "state", got, sizeof got) == 0 && strcmp(got, state) == 0);
  CHECK(st && strstr(st, want));
  /* The refusal's code is always there ("" unless the server refused the file). */
  char code_of[64] = "x";
  CHECK(st && test_json_string(st, "error_code", code_of, sizeof code_of) == 0);
  if (strcmp(state, "failed") != 0) CHECK(code_of[0] == '\0');
  if (!st || strcmp(got, state) != 0) fprintf(stderr, "  state: %s\n", st ? st : "(null)");
  lb_free(st);
}

static void test_attachments(test_server* server, const char* dir, const char* schema) {
  char path_a[512], path_b[512], att_a[530], photo[512], big[512], code[128];
  snprintf(path_a, sizeof path_a, "%s/att-a.db", dir);
  snprintf(att_a, sizeof att_a, "%s-attachments", path_a);
  snprintf(path_b, sizeof path_b, "%s/att-b.db", dir);
  snprintf(photo, sizeof photo, "%s/ktp.jpg", dir);
  snprintf(big, sizeof big, "%s/big.jpg", dir);
  lb_error err;

  const size_t kSize = 200 * 1000;
  unsigned char* bytes = make_photo(kSize);
  unsigned char* too_big = make_photo(1048576 + 1); /* foto_ktp's max_size + 1 */
  CHECK(bytes && too_big && write_file(photo, bytes, kSize) == 0 &&
        write_file(big, too_big, 1048576 + 1) == 0);
  if (!bytes || !too_big) return;

  /* Laptop A: an encrypted store, so the photo is sealed at rest like other personal data. */
  lb_store* a = lb_store_open(path_a, schema, "att-laptop-a", "kata sandi", &err);
  CHECK_OK(err);
  lb_store* b = lb_store_open(path_b, schema, "att-laptop-b", NULL, &err);
  CHECK_OK(err);
  if (!a || !b) return;
  char* id = lb_store_put(a, "enrolment", kRecord, &err);
  CHECK_OK(err);
  if (!id) return;

  /* No attachment yet: an expected miss. */
  CHECK(lb_attachment_state(a, "enrolment", id, "foto_ktp", &err) == NULL && err.code == LB_OK);

  /* Refusals change nothing and carry a code and the field. */
  CHECK(lb_attach_file(a, "enrolment", id, "full_name", photo, NULL, &err) == NULL);
  CHECK(err.code == LB_ERR_UNKNOWN_FIELD);
  CHECK(lb_attach_file(a, "enrolment", id, "foto_ktp", big, NULL, &err) == NULL);
  CHECK(err.code == LB_ERR_VALIDATION_FAILED && strcmp(err.field, "foto_ktp") == 0);
  printf("too large: %s: %s\n", lb_error_name(err.code), err.message);
  /* The same from memory: refused before the bytes are copied. */
  CHECK(lb_attach(a, "enrolment", id, "foto_ktp", too_big, 1048576 + 1, "image/jpeg", "big.jpg",
                  &err) == NULL);
  CHECK(err.code == LB_ERR_VALIDATION_FAILED && strcmp(err.field, "foto_ktp") == 0);
  CHECK(lb_attach(a, "enrolment", id, "foto_ktp", "%PDF-1.4 form", 13, NULL, "f.pdf", &err) ==
        NULL);
  CHECK(err.code == LB_ERR_VALIDATION_FAILED && strcmp(err.field, "foto_ktp") == 0);
  printf("wrong type: %s: %s\n", lb_error_name(err.code), err.message);
  CHECK(lb_attach_file(a, "enrolment", "0190-none", "foto_ktp", photo, NULL, &err) == NULL);
  CHECK(err.code == LB_ERR_NOT_FOUND);
  CHECK(lb_attach_file(a, "enrolment", id, "foto_ktp", "/nonexistent/ktp.jpg", NULL, &err) == NULL);
  CHECK(err.code == LB_ERR_INVALID_ARGUMENT);
  CHECK(lb_attachment_state(a, "enrolment", id, "foto_ktp", &err) == NULL && err.code == LB_OK);

  /* The photo, from a file: the type is read from its first bytes. */
  char* ref = lb_attach_file(a, "enrolment", id, "foto_ktp", photo, NULL, &err);
  CHECK_OK(err);
  char sha[80] = "", mime[64] = "", name[64] = "";
  CHECK(ref && test_json_string(ref, "sha256", sha, sizeof sha) == 0 && strlen(sha) == 64);
  CHECK(ref && test_json_string(ref, "mime", mime, sizeof mime) == 0 &&
        strcmp(mime, "image/jpeg") == 0);
  CHECK(ref && test_json_string(ref, "name", name, sizeof name) == 0 &&
        strcmp(name, "ktp.jpg") == 0);
  CHECK(ref && test_json_int(ref, "size") == (long long)kSize);
  printf("attached: %s\n", ref ? ref : "-");
  lb_free(ref);
  state_is(a, id, "foto_ktp", "waiting", 1);
  /* The signed form, from bytes in memory (a PNG: allowed for formulir). */
  static const unsigned char kPng[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1, 2, 3};
  char* ref2 = lb_attach(a, "enrolment", id, "formulir", kPng, sizeof kPng, NULL, "form.png", &err);
  CHECK_OK(err);
  CHECK(ref2 && strstr(ref2, "\"mime\":\"image/png\""));
  lb_free(ref2);
  char* rec = lb_store_get(a, "enrolment", id, &err);
  CHECK(rec && strstr(rec, sha)); /* the record holds the reference */
  lb_free(rec);
  CHECK(!file_contains(att_a, kMarker));

  /* A syncs: the record, then the attachments. */
  lb_sync* sa = lb_sync_new(a, server->url, NULL, &err);
  CHECK(test_server_enrolment_code(server, "[\"74.02\"]", code, sizeof code) == 0);
  char* token = lb_sync_register(sa, code, "Laptop A", &err);
  CHECK_OK(err);
  lb_free(token);
  char* report = NULL;
  att_progress ap;
  memset(&ap, 0, sizeof ap);
  CHECK(lb_sync_run(sa, on_progress, &ap, &report, &err) == LB_OK);
  CHECK_OK(err);
  /* Records first (phase done), then attachment events up to the whole photo. */
  CHECK(ap.records_done_first && ap.events >= 2 && ap.count == 2);
  CHECK(ap.photo_size == kSize && ap.photo_sent == kSize);
  printf("attachment progress: %d events\n", ap.events);
  CHECK(report && strstr(report, "\"attachments\":{") && strstr(report, "\"failed\":0"));
  CHECK(report && test_json_int(report, "sent") == 2);
  printf("sync A: %s\n", report ? report : "-");
  lb_free(report);
  state_is(a, id, "foto_ktp", "on_server", 1);

  /* B pulls the record but not the bytes (on demand only). */
  lb_sync* sb = lb_sync_new(b, server->url, NULL, &err);
  CHECK(test_server_enrolment_code(server, "[\"74.02\"]", code, sizeof code) == 0);
  char* token_b = lb_sync_register(sb, code, "Laptop B", &err);
  CHECK_OK(err);
  lb_free(token_b);
  CHECK(lb_sync_run(sb, NULL, NULL, NULL, &err) == LB_OK);
  CHECK_OK(err);
  state_is(b, id, "foto_ktp", "remote", 0);
  void* got = NULL;
  size_t got_size = 0;
  CHECK(lb_attachment_open(b, NULL, "enrolment", id, "foto_ktp", &got, &got_size, &err) ==
        LB_ERR_NOT_FOUND);
  CHECK(got == NULL && got_size == 0 && strcmp(err.field, "foto_ktp") == 0);
  CHECK(lb_attachment_open(b, sa, "enrolment", id, "foto_ktp", &got, &got_size, &err) ==
        LB_ERR_INVALID_ARGUMENT); /* A's sync handle, B's store */

  /* Through B's sync handle: fetched, the same bytes, then kept on B. */
  CHECK(lb_attachment_open(b, sb, "enrolment", id, "foto_ktp", &got, &got_size, &err) == LB_OK);
  CHECK_OK(err);
  CHECK(got && got_size == kSize && memcmp(got, bytes, kSize) == 0);
  lb_free(got);
  state_is(b, id, "foto_ktp", "on_server", 1);
  got = NULL;
  CHECK(lb_attachment_open(b, NULL, "enrolment", id, "foto_ktp", &got, &got_size, &err) == LB_OK);
  CHECK(got && got_size == kSize && memcmp(got, bytes, kSize) == 0);
  lb_free(got);
  state_is(b, id, "formulir", "remote", 0);
  test_cancel_fetch(b, id);
  state_is(b, id, "formulir", "remote", 0);
  /* A field with no attachment, and bad arguments. */
  CHECK(lb_store_patch(a, "enrolment", id, "{\"formulir\": null}", &err) == LB_OK);
  CHECK(lb_attachment_open(a, NULL, "enrolment", id, "formulir", &got, &got_size, &err) ==
        LB_ERR_NOT_FOUND);
  CHECK(lb_attachment_open(a, NULL, "enrolment", id, "foto_ktp", NULL, &got_size, &err) ==
        LB_ERR_INVALID_ARGUMENT);
  CHECK(lb_attach(NULL, "enrolment", id, "foto_ktp", kPng, sizeof kPng, NULL, NULL, &err) == NULL);
  CHECK(err.code == LB_ERR_INVALID_ARGUMENT);

  lb_sync_free(sa);
  lb_sync_free(sb);
  lb_free(id);
  lb_store_close(a);
  lb_store_close(b);
  free(bytes);
  free(too_big);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <lumbung-server> <schema.json>\n", argv[0]);
    return 2;
  }
  g_server_bin = argv[1];
  test_server server;
  if (test_server_start(&server, argv[1]) != 0) {
    fprintf(stderr, "could not start %s\n", argv[1]);
    return 1;
  }
  test_attachments(&server, server.dir, argv[2]);
  test_server_stop(&server);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
