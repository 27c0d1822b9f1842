/* Reason codes per validation issue through the C API (lumbung.h "Reason codes", issue 15
 * item 13): a refused put or patch and lb_store_validate give every issue as field, label,
 * reason, message_en and message_id; a change the server refuses (outside the laptop's
 * regions) carries its code and an Indonesian message. Plain C11 like capi_test.c, against
 * the real lumbung-server; prints "N passed, N failed".
 *
 *   capi_issues_test <lumbung-server binary> <schema file>
 */
#define _XOPEN_SOURCE 700

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi_check.h"
#include "lumbung/lumbung.h"
#include "test_server.h"

static const char* kRecord =
    "{\"nik\":\"7402294809690329\",\"full_name\":\"Wulan Pratama\",\"birth_date\":\"1969-09-08\","
    "\"gender\":\"P\",\"village_code\":\"74.02.29.2053\",\"position\":\"kasi pelayanan\","
    "\"phone\":\"08222672973\",\"programs\":[\"JKK\",\"JKM\"],\"monthly_income\":4900000,"
    "\"status\":\"submitted\",\"created_at\":\"2025-01-06T12:34:25.839Z\",\"officer_id\":\"OFC-"
    "0143\"}";

/* Four problems at once: a letter O in the NIK, a phone that is no phone, no full name, and
 * a field the schema does not know. */
static const char* kManyWrong =
    "{\"nik\":\"74020119118O0001\",\"birth_date\":\"1969-09-08\","
    "\"gender\":\"P\",\"village_code\":\"7402292053\",\"phone\":\"12\","
    "\"programs\":[\"JKK\"],\"monthly_income\":4900000,\"colour\":\"red\","
    "\"status\":\"submitted\",\"created_at\":\"2025-01-06T12:34:25.839Z\",\"officer_id\":\"OFC-"
    "0143\"}";

/* Record kRecord with a birth date its NIK contradicts. */
static const char* kMismatch =
    "{\"nik\":\"7402294809690329\",\"full_name\":\"Wulan Pratama\",\"birth_date\":\"1970-01-01\","
    "\"gender\":\"P\",\"village_code\":\"7402292053\",\"programs\":[\"JKK\"],"
    "\"monthly_income\":4900000,\"status\":\"submitted\",\"created_at\":\"2025-01-06T12:34:25."
    "839Z\","
    "\"officer_id\":\"OFC-0143\"}";

/* Record kRecord in Kabupaten Buton Tengah (74.14), outside a 74.02 laptop's regions. */
static const char* kElsewhere =
    "{\"nik\":\"7414294809690329\",\"full_name\":\"Sari Dewi\",\"birth_date\":\"1969-09-08\","
    "\"gender\":\"P\",\"village_code\":\"7414012001\",\"programs\":[\"JKK\"],"
    "\"monthly_income\":4900000,\"status\":\"submitted\",\"created_at\":\"2025-01-06T12:34:25."
    "839Z\","
    "\"officer_id\":\"OFC-0143\"}";

/* True if `json` holds an issue object with this field and reason (the library writes
 * object keys in order: field, label, message, message_en, message_id, reason). Also checks
 * the issue carries both messages, non-empty. */
static int has_issue(const char* json, const char* field, const char* reason) {
  char want_field[160], want_reason[96];
  snprintf(want_field, sizeof want_field, "{\"field\":\"%s\"", field);
  snprintf(want_reason, sizeof want_reason, "\"reason\":\"%s\"}", reason);
  for (const char* p = json ? strstr(json, want_field) : NULL; p; p = strstr(p + 1, want_field)) {
    const char* end = strchr(p, '}');
    const char* r = strstr(p, want_reason);
    if (!end || !r || r > end) continue;
    const char* en = strstr(p, "\"message_en\":\"");
    const char* id = strstr(p, "\"message_id\":\"");
    if (en && id && en < end && id < end && en[14] != '"' && id[14] != '"') return 1;
  }
  return 0;
}

static long long count_issues(const char* json) {
  long long n = 0;
  for (const char* p = json ? strstr(json, "\"reason\":") : NULL; p;
       p = strstr(p + 1, "\"reason\":"))
    ++n;
  return n;
}

static void test_local(const char* dir, const char* schema) {
  char path[512];
  snprintf(path, sizeof path, "%s/issues.db", dir);
  lb_error err;
  lb_store* s = lb_store_open(path, schema, "issues-laptop", NULL, &err);
  CHECK_OK(err);
  if (!s) return;

  /* A put refused: every issue, not only the first; nothing written. */
  char* issues = NULL;
  CHECK(lb_store_put_ex(s, "enrolment", kManyWrong, &issues, &err) == NULL);
  CHECK(err.code == LB_ERR_VALIDATION_FAILED || err.code == LB_ERR_UNKNOWN_FIELD);
  CHECK(issues && strstr(issues, "\"valid\":false"));
  CHECK(has_issue(issues, "nik", "invalid_nik"));
  CHECK(has_issue(issues, "phone", "invalid_phone"));
  CHECK(has_issue(issues, "full_name", "required"));
  CHECK(has_issue(issues, "colour", "unknown_field"));
  CHECK(count_issues(issues) >= 4);
  CHECK(issues && strstr(issues, "\"label\":\"Nama lengkap\"") &&
        strstr(issues, "Nama lengkap wajib diisi")); /* message_id from the schema's label */
  printf("put refused: %s\n", issues ? issues : "-");
  lb_free(issues);
  char* status = lb_store_status(s, &err);
  CHECK(status && test_json_int(status, "records") == 0);
  lb_free(status);

  /* The NIK against the birth date, from validate (extended, same form). */
  char* v = lb_store_validate(s, "enrolment", kMismatch, &err);
  CHECK_OK(err);
  CHECK(has_issue(v, "birth_date", "nik_birth_date_mismatch"));
  CHECK(v && strstr(v, "\"message\":\"")); /* API 1's member is still there */
  lb_free(v);

  /* A put that succeeds: no issues buffer. */
  issues = (char*)"untouched";
  char* id = lb_store_put_ex(s, "enrolment", kRecord, &issues, &err);
  CHECK_OK(err);
  CHECK(id != NULL && issues == NULL);

  /* A patch refused for its values: the issues of the record as it would be. */
  CHECK(lb_store_patch_ex(s, "enrolment", id, "{\"monthly_income\": 5, \"gender\": \"X\"}", &issues,
                          &err) == LB_ERR_VALIDATION_FAILED);
  CHECK(has_issue(issues, "monthly_income", "out_of_range"));
  CHECK(has_issue(issues, "gender", "not_in_enum"));
  CHECK(issues && strstr(issues, "antara 1.000.000 dan 20.700.000"));
  printf("patch refused: %s\n", issues ? issues : "-");
  lb_free(issues);
  /* Not about a value: the status moving back, a record that is not there, bad JSON. */
  CHECK(lb_store_patch_ex(s, "enrolment", id, "{\"status\": \"draft\"}", &issues, &err) ==
        LB_ERR_STATUS_REGRESSION);
  CHECK(has_issue(issues, "status", "status_regression"));
  lb_free(issues);
  CHECK(lb_store_patch_ex(s, "enrolment", "0190-none", "{\"phone\": \"081234567890\"}", &issues,
                          &err) == LB_ERR_NOT_FOUND);
  CHECK(issues && strstr(issues, "\"reason\":\"not_found\""));
  lb_free(issues);
  CHECK(lb_store_put_ex(s, "enrolment", "{not json", &issues, &err) == NULL);
  CHECK(err.code == LB_ERR_MALFORMED_JSON && issues &&
        strstr(issues, "\"reason\":\"malformed_json\""));
  lb_free(issues);
  /* issues_json NULL: exactly lb_store_patch. */
  CHECK(lb_store_patch_ex(s, "enrolment", id, "{\"gender\": \"X\"}", NULL, &err) ==
        LB_ERR_VALIDATION_FAILED);
  CHECK(strcmp(err.field, "gender") == 0);
  CHECK(lb_store_patch_ex(s, "enrolment", id, "{\"phone\": \"0812 3456 7890\"}", &issues, &err) ==
        LB_OK);
  CHECK(issues == NULL);
  lb_free(id);
  lb_store_close(s);
}

/* The server refuses a record outside the laptop's regions: lb_store_refused names the
 * code out_of_scope with an Indonesian message. */
static void test_refused(test_server* server, const char* dir, const char* schema) {
  char path[512], code[128];
  snprintf(path, sizeof path, "%s/refused.db", dir);
  lb_error err;
  lb_store* s = lb_store_open(path, schema, "issues-laptop-r", NULL, &err);
  CHECK_OK(err);
  if (!s) return;
  char* id = lb_store_put(s, "enrolment", kElsewhere, &err);
  CHECK_OK(err);
  lb_sync* sync = lb_sync_new(s, server->url, NULL, &err);
  CHECK(test_server_enrolment_code(server, "[\"74.02\"]", code, sizeof code) == 0);
  char* token = lb_sync_register(sync, code, "Laptop R", &err);
  CHECK_OK(err);
  lb_free(token);
  CHECK(lb_sync_run(sync, NULL, NULL, NULL, &err) == LB_OK);
  CHECK_OK(err);
  char* refused = lb_store_refused(s, &err);
  CHECK_OK(err);
  CHECK(refused && strstr(refused, "\"code\":\"out_of_scope\""));
  CHECK(refused && strstr(refused, "\"message_id\":\"Rekaman di luar wilayah"));
  /* What the change wrote, as typed: here the whole record it created. */
  CHECK(refused && strstr(refused, "\"values\":{") && strstr(refused, "\"nik\":"));
  printf("refused: %s\n", refused ? refused : "-");
  lb_free(refused);
  /* The laptop knows its regions now: a new record outside them is refused here at once. */
  char* issues = NULL;
  CHECK(lb_store_put_ex(s, "enrolment", kElsewhere, &issues, &err) == NULL);
  CHECK(err.code == LB_ERR_OUT_OF_SCOPE && strcmp(err.field, "village_code") == 0);
  CHECK(has_issue(issues, "village_code", "out_of_scope"));
  CHECK(issues && strstr(issues, "Rekaman di luar wilayah perangkat ini"));
  printf("put out of scope: %s\n", issues ? issues : "-");
  lb_free(issues);
  lb_free(id);
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
  test_local(server.dir, argv[2]);
  test_refused(&server, server.dir, argv[2]);
  test_server_stop(&server);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
