/* Test support in plain C for the C API tests: runs the real lumbung-server (fork/exec on
 * 127.0.0.1:0, port read from its "listening on http://127.0.0.1:PORT" line) and talks to
 * its admin API with a minimal HTTP/1.1 client over a POSIX socket (no TLS, no gzip: the
 * server only compresses when asked). Every wait is bounded. */
#ifndef LUMBUNG_TESTS_CAPI_TEST_SERVER_H_
#define LUMBUNG_TESTS_CAPI_TEST_SERVER_H_

#include <stddef.h>
#include <sys/types.h>

typedef struct test_server {
  pid_t pid;
  int stdout_fd;
  int port;
  char dir[256]; /* temp dir holding data/ and admin-token; removed by stop */
  char url[64];  /* "http://127.0.0.1:PORT" */
  char admin_token[256];
} test_server;

/* Makes a temp dir and starts `binary` in it. Returns 0 when the server reported its port
 * within 30 s, -1 otherwise (the process is then stopped). */
int test_server_start(test_server* s, const char* binary);
/* SIGTERM, up to 10 s, then SIGKILL; removes the temp dir. */
void test_server_stop(test_server* s);

/* POSTs `json_body` to `path` with an optional bearer token. Returns the HTTP status (or -1
 * if the exchange failed) and copies the response body (NUL-terminated, cut to fit) into
 * `body`. */
int test_http_post(int port, const char* path, const char* token, const char* json_body, char* body,
                   size_t body_size);

/* Creates a one-time enrolment code for `scope_json` (e.g. "[\"74.02\"]") with the admin
 * token. Returns 0 and the code in `code`, or -1. */
int test_server_enrolment_code(test_server* s, const char* scope_json, char* code,
                               size_t code_size);

/* Copies the string value of "name" in a flat JSON text into `out`; 0 on success. Good
 * enough for test assertions on the library's own output; not a JSON parser. */
int test_json_string(const char* json, const char* name, char* out, size_t out_size);
/* The integer value of "name", or -1 if absent. */
long long test_json_int(const char* json, const char* name);

#endif
