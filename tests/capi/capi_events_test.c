/* Callbacks of a sync through the C API (issue 15 item 13), against the real
 * lumbung-server: lb_sync_on_changed names the records another laptop's changes changed
 * here (and is not called when a run brings nothing new, nor for this laptop's own
 * changes coming back); the progress callback shows the retries of a link that is down
 * (stage, attempt, time to the next attempt, why the last failed); both run on the thread
 * that called lb_sync_run. Plain C11 like capi_test.c; prints "N passed, N failed".
 *
 *   capi_events_test <lumbung-server binary> <schema file>
 */
#define _XOPEN_SOURCE 700

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi_check.h"
#include "lumbung/lumbung.h"
#include "test_server.h"

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

/* What the changed callback saw. */
typedef struct changes_seen {
  int calls;
  char last[4096];
  pthread_t thread;
  int other_thread; /* set if a call came on another thread than `thread` */
} changes_seen;

static void on_changed(const char* json, void* user) {
  changes_seen* seen = user;
  ++seen->calls;
  snprintf(seen->last, sizeof seen->last, "%s", json);
  if (!pthread_equal(pthread_self(), seen->thread)) seen->other_thread = 1;
}

/* A run of `sync`; returns how many times the changed callback was called during it. */
static int run_counting(lb_sync* sync, changes_seen* seen) {
  lb_error err;
  const int before = seen->calls;
  const int rc = lb_sync_run(sync, NULL, NULL, NULL, &err);
  CHECK(rc == LB_OK);
  if (rc != LB_OK) fprintf(stderr, "  sync: %s: %s\n", lb_error_name(err.code), err.message);
  return seen->calls - before;
}

/* True if the last changes name record `id` with this deletion state. */
static int names(const changes_seen* seen, const char* id, int deleted) {
  char want[160];
  snprintf(want, sizeof want, "{\"collection\":\"enrolment\",\"deleted\":%s,\"id\":\"%s\"}",
           deleted ? "true" : "false", id);
  return strstr(seen->last, want) != NULL;
}

static void test_changed(test_server* server, const char* dir, const char* schema) {
  char path_a[512], path_b[512], code[128];
  snprintf(path_a, sizeof path_a, "%s/ev-a.db", dir);
  snprintf(path_b, sizeof path_b, "%s/ev-b.db", dir);
  lb_error err;
  lb_store* a = lb_store_open(path_a, schema, "events-a", NULL, &err);
  lb_store* b = lb_store_open(path_b, schema, "events-b", NULL, &err);
  CHECK(a && b);
  if (!a || !b) return;
  lb_sync* sa = lb_sync_new(a, server->url, NULL, &err);
  lb_sync* sb = lb_sync_new(b, server->url, NULL, &err);
  CHECK(test_server_enrolment_code(server, "[\"74.02\"]", code, sizeof code) == 0);
  lb_free(lb_sync_register(sa, code, "A", &err));
  CHECK_OK(err);
  CHECK(test_server_enrolment_code(server, "[\"74.02\"]", code, sizeof code) == 0);
  lb_free(lb_sync_register(sb, code, "B", &err));
  CHECK_OK(err);

  changes_seen seen;
  memset(&seen, 0, sizeof seen);
  seen.thread = pthread_self();
  CHECK(lb_sync_on_changed(sb, on_changed, &seen, &err) == LB_OK);
  CHECK(lb_sync_on_changed(NULL, on_changed, &seen, &err) == LB_ERR_INVALID_ARGUMENT);

  /* Nothing anywhere yet: no call. */
  CHECK(run_counting(sb, &seen) == 0);

  /* A enrols two people; B's next run names both. */
  char* id1 = lb_store_put(a, "enrolment", kRecord1, &err);
  char* id2 = lb_store_put(a, "enrolment", kRecord2, &err);
  CHECK(id1 && id2);
  if (!id1 || !id2) return;
  CHECK(lb_sync_run(sa, NULL, NULL, NULL, &err) == LB_OK);
  CHECK(run_counting(sb, &seen) == 1);
  CHECK(strstr(seen.last, "\"count\":2") && strstr(seen.last, "\"truncated\":false"));
  CHECK(names(&seen, id1, 0) && names(&seen, id2, 0));
  printf("changed: %s\n", seen.last);

  /* Nothing new: no call. */
  CHECK(run_counting(sb, &seen) == 0);

  /* A patches record 1: only record 1. */
  CHECK(lb_store_patch(a, "enrolment", id1, "{\"monthly_income\": 5000000}", &err) == LB_OK);
  CHECK(lb_sync_run(sa, NULL, NULL, NULL, &err) == LB_OK);
  CHECK(run_counting(sb, &seen) == 1);
  CHECK(strstr(seen.last, "\"count\":1") && names(&seen, id1, 0) && !strstr(seen.last, id2));

  /* B's own change going out and coming back is not a change from elsewhere. */
  CHECK(lb_store_patch(b, "enrolment", id2, "{\"phone\": \"081234567890\"}", &err) == LB_OK);
  CHECK(run_counting(sb, &seen) == 0);

  /* A deletes record 2: named as deleted. */
  CHECK(lb_store_delete(a, "enrolment", id2, &err) == LB_OK);
  CHECK(lb_sync_run(sa, NULL, NULL, NULL, &err) == LB_OK);
  CHECK(run_counting(sb, &seen) == 1);
  CHECK(strstr(seen.last, "\"count\":1") && names(&seen, id2, 1));
  printf("deleted: %s\n", seen.last);

  /* Cleared: A's change arrives, no call. */
  CHECK(lb_sync_on_changed(sb, NULL, NULL, &err) == LB_OK);
  CHECK(lb_store_patch(a, "enrolment", id1, "{\"monthly_income\": 5100000}", &err) == LB_OK);
  CHECK(lb_sync_run(sa, NULL, NULL, NULL, &err) == LB_OK);
  CHECK(run_counting(sb, &seen) == 0);
  char* rec = lb_store_get(b, "enrolment", id1, &err);
  CHECK(rec && strstr(rec, "\"monthly_income\":5100000")); /* it did arrive */
  lb_free(rec);
  CHECK(seen.other_thread == 0);

  lb_free(id1);
  lb_free(id2);
  lb_sync_free(sa);
  lb_sync_free(sb);
  lb_store_close(a);
  lb_store_close(b);
}

/* What the progress callback saw of a link that is down. */
typedef struct retries_seen {
  int calls, retry_waits, max_attempt, max_attempts, last_error_set;
  long long max_retry_in_ms;
  pthread_t thread;
  int other_thread;
} retries_seen;

static int on_progress(const lb_progress* p, void* user) {
  retries_seen* seen = user;
  ++seen->calls;
  if (p->stage == LB_STAGE_RETRY_WAIT) {
    ++seen->retry_waits;
    if (p->retry_in_ms > seen->max_retry_in_ms) seen->max_retry_in_ms = p->retry_in_ms;
    if (p->last_error && p->last_error[0]) seen->last_error_set = 1;
  }
  if ((int)p->attempt > seen->max_attempt) seen->max_attempt = (int)p->attempt;
  seen->max_attempts = (int)p->max_attempts;
  if (!pthread_equal(pthread_self(), seen->thread)) seen->other_thread = 1;
  return 0;
}

/* `url` has no server behind it any more: three attempts, each failure shown. */
static void test_retries(const char* url, const char* dir, const char* schema) {
  char path[512];
  snprintf(path, sizeof path, "%s/ev-retry.db", dir);
  lb_error err;
  lb_store* s = lb_store_open(path, schema, "events-retry", NULL, &err);
  CHECK_OK(err);
  if (!s) return;
  char* id = lb_store_put(s, "enrolment", kRecord1, &err);
  lb_free(id);
  lb_sync_options o;
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.timeout_ms = 2000;
  o.max_attempts = 3;
  o.initial_backoff_ms = 700; /* > the 500 ms between progress calls: the wait is shown */
  o.max_backoff_ms = 700;
  lb_sync* sync = lb_sync_new_with_options(s, url, "lbd_token", &o, &err);
  CHECK_OK(err);
  retries_seen seen;
  memset(&seen, 0, sizeof seen);
  seen.thread = pthread_self();
  CHECK(lb_sync_run(sync, on_progress, &seen, NULL, &err) == LB_ERR_TRANSPORT);
  printf(
      "down link: %d progress calls, %d in retry wait (longest %lld ms), attempts up to %d "
      "of %d: %s\n",
      seen.calls, seen.retry_waits, seen.max_retry_in_ms, seen.max_attempt, seen.max_attempts,
      err.message);
  CHECK(seen.retry_waits >= 2);
  CHECK(seen.max_retry_in_ms > 0 && seen.max_retry_in_ms <= 700);
  CHECK(seen.max_attempt >= 2 && seen.max_attempts == 3); /* the 3rd failure ends the run */
  CHECK(seen.last_error_set);
  CHECK(seen.other_thread == 0);
  CHECK(lb_api_version() == LB_API_VERSION && LB_API_VERSION >= 3);
  lb_sync_free(sync);
  lb_store_close(s);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <lumbung-server> <schema.json>\n", argv[0]);
    return 2;
  }
  test_server server;
  if (test_server_start(&server, argv[1]) != 0) {
    fprintf(stderr, "could not start %s\n", argv[1]);
    return 1;
  }
  test_changed(&server, server.dir, argv[2]);
  /* A second server, stopped at once: its port refuses connections now. */
  test_server gone;
  if (test_server_start(&gone, argv[1]) == 0) {
    test_server_stop(&gone);
    test_retries(gone.url, server.dir, argv[2]);
  } else {
    CHECK(!"a second server started");
  }
  test_server_stop(&server);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
