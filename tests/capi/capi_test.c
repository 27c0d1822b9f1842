/* The C API used from C: open a store, write, read, query, sync with a real lumbung-server
 * through a second device, and check error codes. Compiled as C11 with -pedantic: it also
 * proves lumbung.h is a C header. Plain main(); prints "N passed, N failed".
 *
 *   capi_test <lumbung-server binary> <schema file>
 */
#define _XOPEN_SOURCE 700

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi_check.h"
#include "lumbung/lumbung.h"
#include "test_server.h"

/* Two valid enrolments in Kabupaten Konawe (74.02), from the shared workload. */
static const char* kRecord1 =
    "{\"nik\":\"7402294809690329\",\"full_name\":\"Wulan Pratama\",\"birth_date\":\"1969-09-08\","
    "\"gender\":\"P\",\"village_code\":\"74.02.29.2053\",\"position\":\"kasi pelayanan\","
    "\"phone\":\"08222672973\",\"programs\":[\"JKK\",\"JKM\"],\"monthly_income\":4900000,"
    "\"status\":\"submitted\",\"created_at\":\"2025-01-06T12:34:25.839Z\",\"officer_id\":\"OFC-"
    "0143\"}";
static const char* kRecord2 =
    "{\"nik\":\"7402100607814908\",\"full_name\":\"Joko "
    "Simanjuntak\",\"birth_date\":\"1981-07-06\","
    "\"gender\":\"L\",\"village_code\":\"7402101229\",\"position\":\"kaur perencanaan\","
    "\"phone\":\"08210753712\",\"programs\":[\"JKK\",\"JKM\"],\"monthly_income\":5600000,"
    "\"status\":\"submitted\",\"created_at\":\"2025-01-06T15:33:57.419Z\",\"officer_id\":\"OFC-"
    "0230\"}";
/* Record 1 with a birth date the NIK contradicts. */
static const char* kInvalid =
    "{\"nik\":\"7402294809690329\",\"full_name\":\"Wulan Pratama\",\"birth_date\":\"1970-01-01\","
    "\"gender\":\"P\",\"village_code\":\"7402292053\",\"position\":\"kasi pelayanan\","
    "\"phone\":\"08222672973\",\"programs\":[\"JKK\",\"JKM\"],\"monthly_income\":4900000,"
    "\"status\":\"submitted\",\"created_at\":\"2025-01-06T12:34:25.839Z\",\"officer_id\":\"OFC-"
    "0143\"}";

static int progress_calls = 0;
static int last_phase = -1;

static int on_progress(const lb_progress* p, void* user) {
  (void)user;
  ++progress_calls;
  last_phase = p->phase;
  return 0; /* go on */
}

static int cancel_at_once(const lb_progress* p, void* user) {
  (void)p;
  ++*(int*)user;
  return 1; /* cancel */
}

/* True if `needle` occurs in the file (binary-safe); for the at-rest check. */
static int file_contains(const char* path, const char* needle) {
  FILE* f = fopen(path, "rb");
  if (!f) return 0;
  size_t n = strlen(needle), cap = 1 << 20, len = 0;
  char* buf = malloc(cap);
  int found = 0;
  size_t got;
  while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
    len += got;
    for (size_t i = 0; i + n <= len && !found; ++i) found = memcmp(buf + i, needle, n) == 0;
    if (found) break;
    /* keep the last n-1 bytes for a match across reads */
    if (len >= n) {
      memmove(buf, buf + len - (n - 1), n - 1);
      len = n - 1;
    }
  }
  free(buf);
  fclose(f);
  return found;
}

static void test_local(const char* dir, const char* schema) {
  char path[512];
  snprintf(path, sizeof path, "%s/local.db", dir);
  lb_error err;

  /* Missing schema file: an error code, not a crash. */
  CHECK(lb_store_open(path, "/nonexistent/schema.json", "dev-local", NULL, &err) == NULL);
  CHECK(err.code != LB_OK && err.message[0] != '\0');

  lb_store* s = lb_store_open(path, schema, "dev-local", NULL, &err);
  CHECK_OK(err);
  CHECK(s != NULL);
  if (!s) return;

  char* id = lb_store_put(s, "enrolment", kRecord1, &err);
  CHECK_OK(err);
  CHECK(id != NULL && strlen(id) == 36);

  char* rec = lb_store_get(s, "enrolment", id, &err);
  CHECK_OK(err);
  CHECK(rec && strstr(rec, "\"full_name\":\"Wulan Pratama\""));
  CHECK(rec && strstr(rec, "\"village_code\":\"7402292053\"")); /* normalised: no dots */
  CHECK(rec && strstr(rec, "\"schema_version\":1"));            /* each record's version */
  lb_free(rec);

  /* An invalid record: validation error, the field named, nothing written. */
  char* bad = lb_store_put(s, "enrolment", kInvalid, &err);
  CHECK(bad == NULL);
  CHECK(err.code == LB_ERR_VALIDATION_FAILED);
  CHECK(err.message[0] != '\0');
  CHECK(err.field[0] != '\0');
  printf("validation error: %s [%s] field=%s: %s\n", lb_error_name(err.code),
         lb_error_name(LB_ERR_VALIDATION_FAILED), err.field, err.message);
  CHECK(strcmp(lb_error_name(LB_ERR_VALIDATION_FAILED), "validation_failed") == 0);

  char* issues = lb_store_validate(s, "enrolment", kInvalid, &err);
  CHECK_OK(err);
  CHECK(issues && strstr(issues, "\"valid\":false"));
  lb_free(issues);

  CHECK(lb_store_put(s, "enrolment", "{not json", &err) == NULL);
  CHECK(err.code == LB_ERR_MALFORMED_JSON);
  CHECK(lb_store_put(s, "enrolment", "[1, 2]", &err) == NULL);
  CHECK(err.code == LB_ERR_INVALID_ARGUMENT);
  CHECK(lb_store_put(s, "nope", kRecord2, &err) == NULL);
  CHECK(err.code == LB_ERR_UNKNOWN_COLLECTION);
  CHECK(lb_store_put(s, NULL, kRecord2, &err) == NULL);
  CHECK(err.code == LB_ERR_INVALID_ARGUMENT);
  CHECK(lb_store_put(s, "enrolment", "{\"colour\": \"red\"}", NULL) == NULL); /* NULL err ok */

  /* Patch: normalised; unknown record. */
  CHECK(lb_store_patch(s, "enrolment", id, "{\"phone\": \"+62 812-3456-7890\"}", &err) == LB_OK);
  rec = lb_store_get(s, "enrolment", id, &err);
  CHECK(rec && strstr(rec, "\"phone\":\"081234567890\""));
  lb_free(rec);
  CHECK(lb_store_patch(s, "enrolment", "0190-none", "{\"phone\": \"081234567890\"}", &err) ==
        LB_ERR_NOT_FOUND);
  CHECK(err.code == LB_ERR_NOT_FOUND);

  /* A second record, then delete it: get is then an expected miss (NULL, LB_OK). */
  char* id2 = lb_store_put(s, "enrolment", kRecord2, &err);
  CHECK_OK(err);
  CHECK(lb_store_delete(s, "enrolment", id2, &err) == LB_OK);
  CHECK(lb_store_get(s, "enrolment", id2, &err) == NULL);
  CHECK(err.code == LB_OK);
  CHECK(lb_store_delete(s, "enrolment", id2, &err) == LB_ERR_NOT_FOUND);
  lb_free(id2);

  /* Query pages and the natural key. */
  char* id3 = lb_store_put(s, "enrolment", kRecord2, &err);
  CHECK_OK(err);
  char* page = lb_store_query(s, "enrolment", "74.02", NULL, 1, &err);
  CHECK_OK(err);
  char next[64] = "";
  CHECK(page && test_json_string(page, "next", next, sizeof next) == 0);
  lb_free(page);
  page = lb_store_query(s, "enrolment", "7402", next, 10, &err);
  CHECK(page && strstr(page, "\"next\":null") && strstr(page, "\"records\":[{"));
  lb_free(page);
  page = lb_store_query(s, "enrolment", "7414", NULL, 0, &err); /* Buton Tengah: none */
  CHECK(page && strstr(page, "\"records\":[]"));
  lb_free(page);
  char* found = lb_store_find_by_key(s, "enrolment", "7402294809690329", &err);
  CHECK_OK(err);
  CHECK(found && strstr(found, id));
  lb_free(found);

  /* Outbox and status: create, patch, create, delete, create = 5 log entries. */
  char* pending = lb_store_pending(s, 2, &err);
  CHECK_OK(err);
  CHECK(pending && test_json_int(pending, "total") == 5);
  CHECK(pending && test_json_int(pending, "seq") == 1);
  lb_free(pending);
  char* status = lb_store_status(s, &err);
  CHECK_OK(err);
  CHECK(status && test_json_int(status, "records") == 2);
  CHECK(status && test_json_int(status, "pending_changes") == 5);
  CHECK(status && strstr(status, "\"last_sync_ms\":null"));
  lb_free(status);
  char* conflicts = lb_store_conflicts(s, 0, &err);
  CHECK(conflicts && strcmp(conflicts, "{\"conflicts\":[]}") == 0);
  lb_free(conflicts);
  char* refused = lb_store_refused(s, &err);
  CHECK_OK(err);
  CHECK(refused && strcmp(refused, "{\"refused\":[]}") == 0);
  lb_free(refused);
  CHECK(lb_store_refused(NULL, &err) == NULL);
  CHECK(err.code == LB_ERR_INVALID_ARGUMENT);

  /* A sync handle: a bad URL is refused without network traffic. */
  CHECK(lb_sync_new(s, "ftp://example", NULL, &err) == NULL);
  CHECK(err.code == LB_ERR_INVALID_ARGUMENT);
  lb_sync_cancel(NULL);
  lb_sync_free(NULL);
  lb_store_close(NULL);
  lb_free(NULL);

  lb_free(id);
  lb_free(id3);
  lb_store_close(s);

  /* Reopening as another device is refused. */
  CHECK(lb_store_open(path, schema, "someone-else", NULL, &err) == NULL);
  CHECK(err.code == LB_ERR_SCHEMA_MISMATCH);
}

static void test_sync(test_server* server, const char* dir, const char* schema) {
  char path_a[512], path_b[512], code[128];
  snprintf(path_a, sizeof path_a, "%s/a.db", dir);
  snprintf(path_b, sizeof path_b, "%s/b.db", dir);
  lb_error err;

  lb_store* a = lb_store_open(path_a, schema, "capi-laptop-a", NULL, &err);
  CHECK_OK(err);
  lb_store* b = lb_store_open(path_b, schema, "capi-laptop-b", NULL, &err);
  CHECK_OK(err);
  if (!a || !b) return;

  char* id = lb_store_put(a, "enrolment", kRecord1, &err);
  CHECK_OK(err);

  /* Laptop A registers and syncs (push). */
  lb_sync* sa = lb_sync_new(a, server->url, NULL, &err);
  CHECK_OK(err);
  CHECK(test_server_enrolment_code(server, "[\"74.02\"]", code, sizeof code) == 0);
  char* token = lb_sync_register(sa, code, "Laptop A", &err);
  CHECK_OK(err);
  CHECK(token && strncmp(token, "lbd_", 4) == 0);
  /* The code is single-use. */
  lb_sync* again = lb_sync_new(b, server->url, NULL, &err);
  CHECK(lb_sync_register(again, code, "reuse", &err) == NULL);
  CHECK(err.code == LB_ERR_FORBIDDEN || err.code == LB_ERR_UNAUTHORIZED);
  printf("reused code: %s: %s\n", lb_error_name(err.code), err.message);
  lb_sync_free(again);

  char* report = NULL;
  CHECK(lb_sync_run(sa, on_progress, NULL, &report, &err) == LB_OK);
  CHECK_OK(err);
  CHECK(report && test_json_int(report, "pushed") == 1);
  CHECK(progress_calls > 0);
  printf("sync A: %s (%d progress calls, last phase %d)\n", report ? report : "-", progress_calls,
         last_phase);
  lb_free(report);
  char* status = lb_store_status(a, &err);
  CHECK(status && test_json_int(status, "pending_changes") == 0);
  CHECK(status && test_json_int(status, "last_sync_ms") > 0);
  lb_free(status);

  /* A cancel from the callback stops the run with LB_ERR_CANCELLED. */
  int calls = 0;
  CHECK(lb_store_patch(a, "enrolment", id, "{\"monthly_income\": 5000000}", &err) == LB_OK);
  CHECK(lb_sync_run(sa, cancel_at_once, &calls, &report, &err) == LB_ERR_CANCELLED);
  CHECK(err.code == LB_ERR_CANCELLED && report == NULL && calls == 1);
  CHECK(lb_sync_run(sa, NULL, NULL, NULL, &err) == LB_OK); /* resumes */

  /* The token was kept in the store: a new handle without one syncs. */
  status = lb_store_status(a, &err);
  CHECK(status && strstr(status, "\"registered\":true"));
  lb_free(status);
  lb_sync* later = lb_sync_new(a, server->url, NULL, &err);
  CHECK(lb_sync_run(later, NULL, NULL, NULL, &err) == LB_OK);
  CHECK_OK(err);
  lb_sync_free(later);

  /* A wrong token is refused with its code. */
  lb_sync* bad = lb_sync_new(a, server->url, "lbd_not-a-token", &err);
  CHECK(lb_sync_run(bad, NULL, NULL, NULL, &err) == LB_ERR_UNAUTHORIZED);
  lb_sync_free(bad);

  /* Laptop B registers, pulls, and reads the record back. */
  lb_sync* sb = lb_sync_new(b, server->url, NULL, &err);
  CHECK(test_server_enrolment_code(server, "[\"74.02\"]", code, sizeof code) == 0);
  char* token_b = lb_sync_register(sb, code, "Laptop B", &err);
  CHECK_OK(err);
  CHECK(lb_sync_run(sb, on_progress, NULL, &report, &err) == LB_OK);
  CHECK_OK(err);
  /* The record's create and edit (one op if the laptop asked for a snapshot). */
  CHECK(report && test_json_int(report, "pulled") >= 1);
  lb_free(report);
  char* rec = id ? lb_store_get(b, "enrolment", id, &err) : NULL;
  CHECK_OK(err);
  CHECK(rec && strstr(rec, "\"full_name\":\"Wulan Pratama\"") &&
        strstr(rec, "\"monthly_income\":5000000"));
  lb_free(rec);

  /* The handle keeps its store alive: close the store first, sync still works. */
  lb_store_close(b);
  CHECK(lb_sync_run(sb, NULL, NULL, NULL, &err) == LB_OK);
  lb_sync_free(sb);

  lb_free(token);
  lb_free(token_b);
  lb_free(id);
  lb_sync_free(sa);
  lb_store_close(a);
}

/* A store made with a passphrase: personal fields are not in the file in plaintext, the
 * wrong (or no) passphrase is refused with LB_ERR_WRONG_PASSPHRASE, and a passphrase
 * change takes effect. */
static void test_passphrase(const char* dir, const char* schema) {
  char path[512], wal[520];
  snprintf(path, sizeof path, "%s/secret.db", dir);
  snprintf(wal, sizeof wal, "%s-wal", path);
  lb_error err;
  lb_store* s = lb_store_open(path, schema, "dev-secret", "correct horse battery", &err);
  CHECK_OK(err);
  if (!s) return;
  char* id = lb_store_put(s, "enrolment", kRecord1, &err);
  CHECK_OK(err);
  lb_free(id);
  char* status = lb_store_status(s, &err);
  CHECK(status && strstr(status, "\"encrypted\":true"));
  lb_free(status);
  lb_store_close(s);
  CHECK(!file_contains(path, "7402294809690329") && !file_contains(wal, "7402294809690329"));

  lb_store* wrong = lb_store_open(path, schema, "dev-secret", "wrong horse", &err);
  CHECK(wrong == NULL);
  CHECK(err.code == LB_ERR_WRONG_PASSPHRASE);
  CHECK(strcmp(lb_error_name(LB_ERR_WRONG_PASSPHRASE), "wrong_passphrase") == 0);
  printf("wrong passphrase: %s: %s\n", lb_error_name(err.code), err.message);
  lb_store_close(wrong);
  lb_store* none = lb_store_open(path, schema, "dev-secret", NULL, &err);
  CHECK(none == NULL && err.code == LB_ERR_WRONG_PASSPHRASE);
  lb_store_close(none);

  lb_store* right = lb_store_open(path, schema, "dev-secret", "correct horse battery", &err);
  CHECK_OK(err);
  if (!right) return;
  char* found = lb_store_find_by_key(right, "enrolment", "7402294809690329", &err);
  CHECK(found && strstr(found, "Wulan Pratama"));
  lb_free(found);
  CHECK(lb_store_change_passphrase(right, "not it", "new one", &err) == LB_ERR_WRONG_PASSPHRASE);
  CHECK(lb_store_change_passphrase(right, "correct horse battery", "", &err) ==
        LB_ERR_INVALID_ARGUMENT);
  CHECK(lb_store_change_passphrase(right, "correct horse battery", "staple", &err) == LB_OK);
  lb_store_close(right);
  CHECK(lb_store_open(path, schema, "dev-secret", "correct horse battery", &err) == NULL);
  CHECK(err.code == LB_ERR_WRONG_PASSPHRASE);
  right = lb_store_open(path, schema, "dev-secret", "staple", &err);
  CHECK_OK(err);
  lb_store_close(right);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <lumbung-server> <schema.json>\n", argv[0]);
    return 2;
  }
  printf("liblumbung %s\n", lb_version());
  test_server server;
  if (test_server_start(&server, argv[1]) != 0) {
    fprintf(stderr, "could not start %s\n", argv[1]);
    return 1;
  }
  test_local(server.dir, argv[2]);
  test_sync(&server, server.dir, argv[2]);
  test_passphrase(server.dir, argv[2]);
  test_server_stop(&server);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
