/* See test_server.h. */
#define _XOPEN_SOURCE 700

#include "test_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

static int remove_entry(const char* path, const struct stat* sb, int flag, struct FTW* ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void read_admin_token(test_server* s) {
  char path[512];
  snprintf(path, sizeof path, "%s/admin-token", s->dir);
  FILE* f = fopen(path, "r");
  s->admin_token[0] = '\0';
  if (!f) return;
  if (fgets(s->admin_token, sizeof s->admin_token, f)) {
    s->admin_token[strcspn(s->admin_token, "\r\n")] = '\0';
  }
  fclose(f);
}

int test_server_start(test_server* s, const char* binary) {
  memset(s, 0, sizeof *s);
  s->pid = -1;
  s->stdout_fd = -1;
  const char* tmp = getenv("TMPDIR");
  snprintf(s->dir, sizeof s->dir, "%s/lumbung-capi-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(s->dir)) return -1;

  char data[300], token_file[300];
  snprintf(data, sizeof data, "%s/data", s->dir);
  snprintf(token_file, sizeof token_file, "%s/admin-token", s->dir);
  int fds[2];
  if (pipe(fds) != 0) return -1;
  s->pid = fork();
  if (s->pid < 0) return -1;
  if (s->pid == 0) {
    /* If the test dies (a sanitizer abort), the server goes too instead of holding
     * CTest's output pipe open until the timeout. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    char* argv[] = {(char*)binary, "--listen",           "127.0.0.1:0", "--data",
                    data,          "--admin-token-file", token_file,    NULL};
    execv(binary, argv);
    _exit(127);
  }
  close(fds[1]);
  s->stdout_fd = fds[0];

  /* Lines until the marker, at most 30 s (300 polls of 100 ms). */
  const char* marker = "listening on http://127.0.0.1:";
  char buf[4096];
  size_t len = 0;
  for (int round = 0; round < 300 && s->port == 0; ++round) {
    struct pollfd p = {s->stdout_fd, POLLIN, 0};
    int rc = poll(&p, 1, 100);
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    if (len + 1 >= sizeof buf) len = 0; /* a line longer than the buffer: drop it */
    ssize_t n = read(s->stdout_fd, buf + len, sizeof buf - 1 - len);
    if (n <= 0) break; /* EOF: the server died */
    len += (size_t)n;
    buf[len] = '\0';
    char* nl;
    while ((nl = strchr(buf, '\n')) != NULL) {
      *nl = '\0';
      if (strncmp(buf, marker, strlen(marker)) == 0) s->port = atoi(buf + strlen(marker));
      size_t rest = len - (size_t)(nl + 1 - buf);
      memmove(buf, nl + 1, rest + 1);
      len = rest;
    }
  }
  if (s->port == 0) {
    test_server_stop(s);
    return -1;
  }
  snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
  read_admin_token(s);
  return s->admin_token[0] ? 0 : -1;
}

void test_server_stop(test_server* s) {
  if (s->pid > 0) {
    int status = 0, reaped = 0;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 200 && !reaped; ++i) { /* 200 x 50 ms = 10 s */
      if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
        reaped = 1;
      } else {
        sleep_ms(50);
      }
    }
    if (!reaped) {
      kill(s->pid, SIGKILL);
      waitpid(s->pid, &status, 0);
    }
    s->pid = -1;
  }
  if (s->stdout_fd >= 0) {
    close(s->stdout_fd);
    s->stdout_fd = -1;
  }
  if (s->dir[0]) {
    nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = '\0';
  }
}

static int send_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, data, n, 0);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    data += w;
    n -= (size_t)w;
  }
  return 0;
}

int test_http_post(int port, const char* path, const char* token, const char* json_body, char* body,
                   size_t body_size) {
  if (body_size > 0) body[0] = '\0';
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct timeval tv = {30, 0}; /* every receive bounded */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  char head[1024];
  char auth[400] = "";
  if (token && *token) snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
  int hn = snprintf(head, sizeof head,
                    "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
                    path, port, strlen(json_body), auth);
  if (hn < 0 || (size_t)hn >= sizeof head || send_all(fd, head, (size_t)hn) != 0 ||
      send_all(fd, json_body, strlen(json_body)) != 0) {
    close(fd);
    return -1;
  }
  /* Read until the server closes or Content-Length bytes of body have arrived. */
  char resp[65536];
  size_t len = 0;
  long content_length = -1;
  char* body_start = NULL;
  for (;;) {
    if (len + 1 >= sizeof resp) break;
    ssize_t n = recv(fd, resp + len, sizeof resp - 1 - len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
    resp[len] = '\0';
    if (!body_start) {
      char* end = strstr(resp, "\r\n\r\n");
      if (end) {
        body_start = end + 4;
        for (char* h = resp; h < end; h = strstr(h, "\r\n") + 2) {
          if (strncasecmp(h, "content-length:", 15) == 0) content_length = atol(h + 15);
        }
      }
    }
    if (body_start && content_length >= 0 &&
        (long)(len - (size_t)(body_start - resp)) >= content_length) {
      break;
    }
  }
  close(fd);
  resp[len] = '\0';
  int status = -1;
  if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1) return -1;
  if (body_start && body_size > 0) {
    snprintf(body, body_size, "%s", body_start);
  }
  return status;
}

int test_server_enrolment_code(test_server* s, const char* scope_json, char* code,
                               size_t code_size) {
  char req[512], resp[4096];
  snprintf(req, sizeof req, "{\"scope\": %s, \"label\": \"capi test\"}", scope_json);
  int status = test_http_post(s->port, "/v1/admin/codes", s->admin_token, req, resp, sizeof resp);
  if (status != 201) {
    fprintf(stderr, "code creation: HTTP %d %s\n", status, resp);
    return -1;
  }
  return test_json_string(resp, "code", code, code_size);
}

/* Finds `"name"` followed by optional spaces and a colon; returns the value's start. */
static const char* find_member(const char* json, const char* name) {
  char key[160];
  snprintf(key, sizeof key, "\"%s\"", name);
  for (const char* p = strstr(json, key); p; p = strstr(p + 1, key)) {
    const char* v = p + strlen(key);
    while (*v == ' ') ++v;
    if (*v == ':') {
      ++v;
      while (*v == ' ') ++v;
      return v;
    }
  }
  return NULL;
}

int test_json_string(const char* json, const char* name, char* out, size_t out_size) {
  const char* v = find_member(json, name);
  if (!v || *v != '"' || out_size == 0) return -1;
  ++v;
  size_t n = 0;
  while (*v && *v != '"' && n + 1 < out_size) out[n++] = *v++;
  out[n] = '\0';
  return *v == '"' ? 0 : -1;
}

long long test_json_int(const char* json, const char* name) {
  const char* v = find_member(json, name);
  if (!v || (*v != '-' && (*v < '0' || *v > '9'))) return -1;
  return strtoll(v, NULL, 10);
}
