/* A new device's first pull through the C API (issue 13), against the real lumbung-server:
 * by default a snapshot of its regions' current records (one "rec" op per record), with
 * lb_sync_options.first_pull = LB_FIRST_PULL_REPLAY every op of the log; an lb_sync_options
 * of the size shipped before first_pull (API 2-3, struct_size = offsetof(first_pull)) still
 * works and gets the defaults; a smaller one and out-of-range values are refused with
 * LB_ERR_INVALID_ARGUMENT. Plain C11 like capi_test.c; prints "N passed, N failed".
 *
 *   capi_first_pull_test <lumbung-server binary> <schema file>
 */
#define _XOPEN_SOURCE 700

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi_check.h"
#include "lumbung/lumbung.h"
#include "test_server.h"

static const char* kRecords[] = {
    "{\"nik\":\"7402294809690329\",\"full_name\":\"Wulan Pratama\",\"birth_date\":\"1969-09-08\","
    "\"gender\":\"P\",\"village_code\":\"74.02.29.2053\",\"position\":\"kasi pelayanan\","
    "\"phone\":\"08222672973\",\"programs\":[\"JKK\",\"JKM\"],\"monthly_income\":4900000,"
    "\"status\":\"submitted\",\"created_at\":\"2025-01-06T12:34:25.839Z\",\"officer_id\":\"OFC-"
    "0143\"}",
    "{\"nik\":\"7402100607814908\",\"full_name\":\"Joko Simanjuntak\",\"birth_date\":\"1981-07-"
    "06\",\"gender\":\"L\",\"village_code\":\"7402101229\",\"position\":\"kaur perencanaan\","
    "\"phone\":\"08210753712\",\"programs\":[\"JKK\",\"JKM\"],\"monthly_income\":5600000,"
    "\"status\":\"submitted\",\"created_at\":\"2025-01-06T15:33:57.419Z\",\"officer_id\":\"OFC-"
    "0230\"}"};
enum { kRecordCount = 2, kEditsEach = 3 };

/* Opens a store `name` under `dir`, makes its sync handle with `o` (NULL = lb_sync_new) and
 * registers it for Kabupaten Konawe (74.02). NULL if any step failed. */
static const char* g_schema; /* the schema file (argv[2]) */

static lb_sync* laptop(test_server* server, const char* dir, const char* name,
                       const lb_sync_options* o, lb_store** store) {
  char path[512], code[128];
  snprintf(path, sizeof path, "%s/fp-%s.db", dir, name);
  lb_error err;
  *store = lb_store_open(path, g_schema, name, NULL, &err);
  CHECK_OK(err);
  if (!*store) return NULL;
  lb_sync* sync = o ? lb_sync_new_with_options(*store, server->url, NULL, o, &err)
                    : lb_sync_new(*store, server->url, NULL, &err);
  CHECK_OK(err);
  if (!sync) return NULL;
  CHECK(test_server_enrolment_code(server, "[\"74.02\"]", code, sizeof code) == 0);
  lb_free(lb_sync_register(sync, code, name, &err));
  CHECK_OK(err);
  return sync;
}

/* One run; returns the report's "pulled" (-1 on failure). */
static long long pulled_by_run(lb_sync* sync) {
  lb_error err;
  char* report = NULL;
  const int rc = lb_sync_run(sync, NULL, NULL, &report, &err);
  CHECK(rc == LB_OK);
  if (rc != LB_OK) fprintf(stderr, "  sync: %s: %s\n", lb_error_name(err.code), err.message);
  const long long pulled = report ? test_json_int(report, "pulled") : -1;
  lb_free(report);
  return pulled;
}

/* The new device's first pull with `o`, then its second (which must bring nothing); returns
 * what the first pulled and checks the records arrived with their last edit. */
static long long first_pull(test_server* server, const char* dir, const char* name,
                            const lb_sync_options* o, char* const* ids) {
  lb_store* store = NULL;
  lb_sync* sync = laptop(server, dir, name, o, &store);
  long long pulled = -1;
  if (sync) {
    pulled = pulled_by_run(sync);
    CHECK(pulled_by_run(sync) == 0);
    for (int i = 0; i < kRecordCount; ++i) {
      lb_error err;
      char* rec = lb_store_get(store, "enrolment", ids[i], &err);
      CHECK(rec && strstr(rec, "\"monthly_income\":5003000"));
      lb_free(rec);
    }
  }
  printf("%s: first pull %lld ops\n", name, pulled);
  lb_sync_free(sync);
  lb_store_close(store);
  return pulled;
}

/* lb_sync_new_with_options refuses `o` with LB_ERR_INVALID_ARGUMENT naming `what`. */
static void refused(test_server* server, lb_store* store, const lb_sync_options* o,
                    const char* what) {
  lb_error err;
  lb_sync* sync = lb_sync_new_with_options(store, server->url, NULL, o, &err);
  CHECK(sync == NULL && err.code == LB_ERR_INVALID_ARGUMENT && strstr(err.message, what));
  if (sync || !strstr(err.message, what)) fprintf(stderr, "  refusal said: %s\n", err.message);
  lb_sync_free(sync);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <lumbung-server> <schema.json>\n", argv[0]);
    return 2;
  }
  g_schema = argv[2];
  test_server server;
  if (test_server_start(&server, argv[1]) != 0) {
    fprintf(stderr, "could not start %s\n", argv[1]);
    return 1;
  }
  CHECK(lb_api_version() == LB_API_VERSION && LB_API_VERSION >= 4);
  CHECK(offsetof(lb_sync_options, first_pull) < sizeof(lb_sync_options));

  /* Laptop A enrols two people and edits each three times: 8 ops of history. */
  lb_store* a = NULL;
  lb_sync* sa = laptop(&server, server.dir, "a", NULL, &a);
  char* ids[kRecordCount] = {NULL, NULL};
  lb_error err;
  for (int i = 0; sa && i < kRecordCount; ++i) {
    ids[i] = lb_store_put(a, "enrolment", kRecords[i], &err);
    CHECK_OK(err);
    for (int e = 1; ids[i] && e <= kEditsEach; ++e) {
      char patch[64];
      snprintf(patch, sizeof patch, "{\"monthly_income\": %d}", 5000000 + e * 1000);
      CHECK(lb_store_patch(a, "enrolment", ids[i], patch, &err) == LB_OK);
    }
  }
  if (!sa || !ids[0] || !ids[1]) {
    test_server_stop(&server);
    printf("%d passed, %d failed\n", passed, failed + 1);
    return 1;
  }
  CHECK(lb_sync_run(sa, NULL, NULL, NULL, &err) == LB_OK);

  /* An app built with the API 3 header: its struct ends before first_pull. Whatever lies
   * beyond its struct_size is not read (here: bytes that would be refused if read). */
  lb_sync_options* old = malloc(sizeof *old);
  CHECK(old != NULL);
  if (!old) return 1;
  memset(old, 0x7f, sizeof *old);
  memset(old, 0, offsetof(lb_sync_options, first_pull));
  old->struct_size = offsetof(lb_sync_options, first_pull);
  old->max_attempts = 3;
  const long long by_old = first_pull(&server, server.dir, "old-size", old, ids);
  CHECK(by_old == kRecordCount); /* the default: the server chooses the snapshot (a log of
                                    edits), one "rec" per record */

  lb_sync_options o;
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  CHECK(first_pull(&server, server.dir, "default", &o, ids) == kRecordCount);
  CHECK(first_pull(&server, server.dir, "plain", NULL, ids) == kRecordCount);

  o.first_pull = LB_FIRST_PULL_REPLAY; /* every op of the log */
  CHECK(first_pull(&server, server.dir, "replay", &o, ids) == kRecordCount * (1 + kEditsEach));

  o.first_pull = LB_FIRST_PULL_SNAPSHOT;
  o.changeset_format = LB_CHANGESET_V1;
  CHECK(first_pull(&server, server.dir, "v1", &o, ids) == kRecordCount);
  o.first_pull = LB_FIRST_PULL_REPLAY;
  o.changeset_format = LB_CHANGESET_V2;
  CHECK(first_pull(&server, server.dir, "v2-replay", &o, ids) == kRecordCount * (1 + kEditsEach));

  /* Refused: a struct smaller than any shipped, and values that are not one of theirs. */
  lb_sync_options bad = o;
  bad.struct_size = offsetof(lb_sync_options, first_pull) - 1;
  refused(&server, a, &bad, "struct_size");
  bad = o;
  bad.first_pull = 3;
  refused(&server, a, &bad, "first_pull");
  bad.first_pull = -1;
  refused(&server, a, &bad, "first_pull");
  bad = o;
  bad.changeset_format = 3;
  refused(&server, a, &bad, "changeset_format");
  /* ... but not read beyond an old struct_size (as above, the bytes there would be). */
  old->first_pull = 9;
  old->changeset_format = 9;
  lb_sync* fine = lb_sync_new_with_options(a, server.url, NULL, old, &err);
  CHECK(fine != NULL);
  CHECK_OK(err);
  lb_sync_free(fine);

  free(old);
  for (int i = 0; i < kRecordCount; ++i) lb_free(ids[i]);
  lb_sync_free(sa);
  lb_store_close(a);
  test_server_stop(&server);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
